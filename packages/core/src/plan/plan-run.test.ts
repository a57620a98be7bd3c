import { describe, expect, it } from "vitest";
import type { HistoryEntry, Migration } from "../model/migration.js";
import { sha256Hex } from "../sql/checksum.js";
import { applyUnfinished, planRun } from "./plan-run.js";
import type { UnfinishedMigration } from "../execute/unfinished-store.js";

function migration(order: number, sql = `SELECT ${order};\n`): Migration {
  const id = `000${order + 1}_m${order}`;
  return { id, name: `m${order}`, order, checksum: sha256Hex(sql), file: `/m/${id}.sql`, sql };
}
function applied(m: Migration, checksum = m.checksum): HistoryEntry {
  return { id: m.id, checksum, status: "applied" };
}
const context = { historyTable: "polymigrate.sql_migrations", dir: "/m" };

describe("planRun", () => {
  it("lists applied and pending in order, with no problem", () => {
    const [a, b] = [migration(0), migration(1)];
    const plan = planRun([a, b], [applied(a)], context);
    expect(plan.entries.map((entry) => entry.state)).toEqual(["applied", "pending"]);
    expect(plan.pending.map((m) => m.id)).toEqual([b.id]);
    expect(plan.problems).toEqual([]);
  });

  it("reports a changed file, but not a change of line endings only", () => {
    const crlf = migration(0, "SELECT 1;\r\nSELECT 2;\r\n");
    const lf = { ...crlf, sql: "SELECT 1;\nSELECT 2;\n", checksum: sha256Hex("SELECT 1;\nSELECT 2;\n") };
    expect(planRun([lf], [applied(crlf)], context).problems).toEqual([]);
    const edited = { ...lf, sql: "SELECT 3;\n", checksum: sha256Hex("SELECT 3;\n") };
    const plan = planRun([edited], [applied(crlf)], context);
    expect(plan.problems[0]).toMatchObject({ kind: "changed", id: crlf.id });
    expect(plan.problems[0]?.message).toContain("--allow changed");
  });

  it("reports a migration missing on disk, a failed one and one out of order", () => {
    const [a, b, c] = [migration(0), migration(1), migration(2)];
    const plan = planRun([a, b, c], [applied(c), { id: a.id, status: "failed" }, applied(migration(7))], context);
    expect(plan.problems.map((problem) => [problem.kind, problem.id])).toEqual([
      ["failed", a.id],
      ["out-of-order", b.id],
      ["missing", "0008_m7"],
    ]);
    expect(plan.pending.map((m) => m.id)).toEqual([b.id]);
  });

  it("uses the stack's own wording for a failed migration", () => {
    const a = migration(0);
    const plan = planRun([a], [{ id: a.id, status: "failed" }], { ...context, failedHint: (id) => `Run resolve ${id}.` });
    expect(plan.problems[0]?.message).toContain(`Run resolve ${a.id}.`);
  });

  it("warns about a pending migration with no statement, without blocking it, and not once it is applied", () => {
    const [empty, comments, real] = [migration(0, ""), migration(1, "-- nothing\n/* yet */\n"), migration(2)];
    const plan = planRun([empty, comments, real], [], context);
    expect(plan.problems.map((problem) => [problem.kind, problem.level, problem.id])).toEqual([
      ["empty", "warning", empty.id],
      ["empty", "warning", comments.id],
    ]);
    expect(plan.problems[0]?.message).toContain("has no statement");
    expect(plan.pending.map((m) => m.id)).toEqual([empty.id, comments.id, real.id]);
    expect(planRun([empty], [applied(empty)], context).problems).toEqual([]);
  });
});

describe("applyUnfinished", () => {
  const planContext = { historyTable: "polymigrate.sql_migrations", dir: "migrations" };
  const onDiskMigration = (id: string, order: number): Migration => ({ id, name: id, order, checksum: id, file: `${id}.sql`, sql: "SELECT 1" });
  const record = (id: string, overrides: Partial<UnfinishedMigration> = {}): UnfinishedMigration => ({
    historyTable: planContext.historyTable,
    id,
    runId: "0123456789ab",
    direction: "up",
    startedAt: "2026-12-01T00:00:00.000Z",
    statementsApplied: 1,
    statementsTotal: 3,
    file: `${id}.sql`,
    isRunning: false,
    ...overrides,
  });
  const onDisk = [onDiskMigration("0001", 0), onDiskMigration("0002", 1), onDiskMigration("0003", 2)];
  const appliedRows: HistoryEntry[] = [{ id: "0001", checksum: "0001", status: "applied" }];

  it("marks a started, unrecorded migration unfinished: a blocking problem with the fix, no longer pending", () => {
    const { plan, stale } = applyUnfinished(planRun(onDisk, appliedRows, planContext), [record("0002")]);
    expect(stale).toEqual([]);
    expect(plan.entries.map((entry) => entry.state)).toEqual(["applied", "unfinished", "pending"]);
    expect(plan.pending.map((entry) => entry.id)).toEqual(["0003"]);
    const problem = plan.problems.find((entry) => entry.kind === "unfinished");
    expect(problem?.message).toContain("1 of 3 of its statements completed");
    expect(problem?.message).toContain('"migrate resolve --applied 0002"');
  });

  it("calls a record stale when the history shows its migration finished (the run died between the two)", () => {
    const { plan, stale } = applyUnfinished(planRun(onDisk, appliedRows, planContext), [record("0001")]);
    expect(stale).toEqual(["0001"]);
    expect(plan.problems).toEqual([]);
  });

  it("leaves a migration alone while its run is still connected", () => {
    const { plan, stale } = applyUnfinished(planRun(onDisk, appliedRows, planContext), [record("0002", { isRunning: true })]);
    expect(stale).toEqual([]);
    expect(plan.entries[1]?.state).toBe("pending");
  });

  it("reads an unfinished down the other way round: still recorded means unfinished, gone means done", () => {
    const unfinishedDown = applyUnfinished(planRun(onDisk, appliedRows, planContext), [record("0001", { direction: "down" })]);
    expect(unfinishedDown.plan.entries[0]?.state).toBe("unfinished");
    const finishedDown = applyUnfinished(planRun(onDisk, appliedRows, planContext), [record("0002", { direction: "down" })]);
    expect(finishedDown.stale).toEqual(["0002"]);
  });
});
