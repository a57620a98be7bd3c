import { describe, expect, it } from "vitest";
import type { HistoryEntry, Migration } from "../model/migration.js";
import { sha256Hex } from "../sql/checksum.js";
import { planRun } from "./plan-run.js";

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
