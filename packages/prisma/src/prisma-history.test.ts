import { describe, expect, it } from "vitest";
import { toHistoryEntries, type PrismaMigrationRow } from "./prisma-history.js";

function row(name: string, overrides: Partial<PrismaMigrationRow> = {}): PrismaMigrationRow {
  const started = new Date("2025-01-01T00:00:00Z");
  return {
    id: `${name}-id`,
    checksum: `${name}-sum`,
    finished_at: new Date(started.getTime() + 25),
    migration_name: name,
    logs: null,
    rolled_back_at: null,
    started_at: started,
    applied_steps_count: 1,
    ...overrides,
  };
}

describe("toHistoryEntries", () => {
  it("reads finished rows as applied, with their duration", () => {
    expect(toHistoryEntries([row("a")])).toEqual([
      { id: "a", checksum: "a-sum", status: "applied", appliedAt: new Date("2025-01-01T00:00:00.025Z"), durationMs: 25 },
    ]);
  });

  it("reads a row neither finished nor rolled back as failed, with its logs", () => {
    const [entry] = toHistoryEntries([row("a", { finished_at: null, logs: "boom" })]);
    expect(entry).toMatchObject({ id: "a", status: "failed", logs: "boom" });
  });

  it("ignores rolled-back rows, as prisma migrate deploy does", () => {
    expect(toHistoryEntries([row("a", { finished_at: null, rolled_back_at: new Date(), logs: "boom" })])).toEqual([]);
  });

  it("keeps the applied row of a migration resolved after a failure", () => {
    const entries = toHistoryEntries([
      row("a", { finished_at: null, rolled_back_at: new Date(), logs: "boom" }),
      row("a", { id: "second", applied_steps_count: 0, logs: "" }),
    ]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ id: "a", status: "applied" });
  });

  it("lets a failed row win over an applied one of the same migration", () => {
    const entries = toHistoryEntries([row("a"), row("a", { id: "again", finished_at: null })]);
    expect(entries).toEqual([expect.objectContaining({ id: "a", status: "failed" })]);
  });
});
