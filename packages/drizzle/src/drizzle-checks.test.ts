import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Migration, Plan } from "@polymigrate/core";
import { ORIGIN_SNAPSHOT_ID, checkSnapshots, reviewDrizzlePlan } from "./drizzle-checks.js";

let out: string;

beforeEach(() => {
  out = mkdtempSync(join(tmpdir(), "drizzle-checks-"));
  mkdirSync(join(out, "meta"));
});
afterEach(() => rmSync(out, { recursive: true, force: true }));

function journal(entries: Array<[tag: string, when: number]>): void {
  writeFileSync(
    join(out, "meta", "_journal.json"),
    JSON.stringify({ entries: entries.map(([tag, when], idx) => ({ idx, when, tag, breakpoints: true })) }),
  );
}

function snapshot(prefix: string, id: string, prevId: string, version = "7"): void {
  writeFileSync(join(out, "meta", `${prefix}_snapshot.json`), JSON.stringify({ id, prevId, version, dialect: "postgresql", tables: {} }));
}

function migration(tag: string, when: number, order: number): Migration {
  return { id: tag, name: tag, order, checksum: tag, file: `/app/drizzle/${tag}.sql`, meta: { idx: order, when, tag, breakpoints: true } };
}

describe("checkSnapshots", () => {
  it("finds nothing in a consistent folder", () => {
    journal([["0000_a", 1], ["0001_b", 2]]);
    snapshot("0000", "id-a", ORIGIN_SNAPSHOT_ID);
    snapshot("0001", "id-b", "id-a");
    expect(checkSnapshots(out)).toEqual([]);
  });

  it("reports collisions, old versions, malformed files, a broken chain and non-increasing timestamps as warnings", () => {
    journal([["0000_a", 5], ["0001_b", 5], ["0002_c", 9]]);
    snapshot("0000", "id-a", ORIGIN_SNAPSHOT_ID);
    snapshot("0001", "id-b", "id-a");
    snapshot("0002", "id-c", "id-a");
    snapshot("0003", "id-d", "id-c", "5");
    writeFileSync(join(out, "meta", "0004_snapshot.json"), "{ nope");
    const problems = checkSnapshots(out);
    expect(problems.every((problem) => problem.kind === "stack-check" && problem.level === "warning")).toBe(true);
    const text = problems.map((problem) => problem.message).join("\n");
    expect(text).toContain('Snapshots "0001_snapshot.json", "0002_snapshot.json" all point to the parent snapshot id-a');
    expect(text).toContain('is of version "5", not 7. Run "drizzle-kit up"');
    expect(text).toContain("0004_snapshot.json\" is not valid JSON");
    expect(text).toContain('Journal entry "0001_b" (when 5) follows "0000_a" (when 5)');
    expect(text).toContain('Snapshot "' + join(out, "meta", "0002_snapshot.json") + '" of "0002_c" has prevId id-a');
  });
});

describe("reviewDrizzlePlan", () => {
  const a = migration("0000_a", 100, 0);
  const b = migration("0001_b", 200, 1);
  const c = migration("0002_c", 300, 2);

  it("marks a pending entry older than the last applied created_at: drizzle-kit would skip it", () => {
    journal([["0000_a", 100], ["0001_b", 200], ["0002_c", 300]]);
    const plan: Plan = {
      entries: [
        { id: a.id, name: a.name, state: "applied", migration: a },
        { id: b.id, name: b.name, state: "pending", migration: b, isOutOfOrder: true },
        { id: c.id, name: c.name, state: "applied", migration: c },
      ],
      pending: [b],
      problems: [{ kind: "out-of-order", id: b.id, message: "generic" }],
      hasHistoryTable: true,
    };
    const reviewed = reviewDrizzlePlan(plan, 300, out, "drizzle.__drizzle_migrations");
    const outOfOrder = reviewed.problems.filter((problem) => problem.kind === "out-of-order");
    expect(outOfOrder).toHaveLength(1);
    expect(outOfOrder[0]?.message).toContain("drizzle-kit migrate would skip it without a word");
    expect(reviewed.entries[1]?.isOutOfOrder).toBe(true);
  });

  it("marks an entry that follows the applied ones in the journal but is not newer than them", () => {
    journal([["0000_a", 100], ["0001_b", 200], ["0002_c", 300]]);
    const late = migration("0003_d", 250, 3);
    const plan: Plan = {
      entries: [
        { id: a.id, name: a.name, state: "applied", migration: a },
        { id: c.id, name: c.name, state: "applied", migration: c },
        { id: late.id, name: late.name, state: "pending", migration: late },
      ],
      pending: [late],
      problems: [],
      hasHistoryTable: true,
    };
    const reviewed = reviewDrizzlePlan(plan, 300, out, "drizzle.__drizzle_migrations");
    expect(reviewed.problems.map((problem) => `${problem.kind}:${problem.id}`)).toContain("out-of-order:0003_d");
    expect(reviewed.entries[2]?.isOutOfOrder).toBe(true);
  });

  it("leaves newer pending entries alone, and applies drizzle's NULL rule (Number(null) is 0)", () => {
    journal([["0000_a", 100]]);
    const plan: Plan = {
      entries: [{ id: a.id, name: a.name, state: "pending", migration: a }],
      pending: [a],
      problems: [],
      hasHistoryTable: true,
    };
    snapshot("0000", "id-a", ORIGIN_SNAPSHOT_ID);
    expect(reviewDrizzlePlan(plan, 0, out, "t").problems).toEqual([]);
    expect(reviewDrizzlePlan(plan, undefined, out, "t").problems).toEqual([]);
    expect(reviewDrizzlePlan(plan, 100, out, "t").problems.map((problem) => problem.kind)).toEqual(["out-of-order"]);
  });
});
