import { describe, expect, it } from "vitest";
import type { Migration } from "@polymigrate/core";
import { matchRows, unmatchedRowId } from "./drizzle-history.js";

function migration(tag: string, when: number, checksum: string): Migration {
  return { id: tag, name: tag, order: 0, checksum, file: `/app/drizzle/${tag}.sql`, meta: { idx: 0, when, tag, breakpoints: true } };
}

const journal = [migration("0000_a", 100, "aaa"), migration("0001_b", 200, "bbb"), migration("0002_c", 300, "ccc")];

describe("matchRows", () => {
  it("relates rows to journal entries by created_at = when, as drizzle does", () => {
    const matched = matchRows(
      [
        { id: 1, hash: "aaa", createdAt: 100 },
        { id: 2, hash: "changed", createdAt: 200 },
      ],
      journal,
    );
    expect(matched.map((entry) => entry.migration?.id)).toEqual(["0000_a", "0001_b"]);
  });

  it("falls back to the hash for a row whose entry's when was edited, and leaves the others unmatched", () => {
    const matched = matchRows(
      [
        { id: 1, hash: "ccc", createdAt: 299 },
        { id: 2, hash: "zzz", createdAt: 42 },
        { id: 3, hash: "aaa", createdAt: null },
      ],
      journal,
    );
    expect(matched.map((entry) => entry.migration?.id)).toEqual(["0002_c", undefined, "0000_a"]);
    expect(unmatchedRowId({ id: 2, hash: "zzz", createdAt: 42 })).toBe("row-2@42");
  });

  it("matches each journal entry once: a second row for the same entry is unmatched", () => {
    const matched = matchRows(
      [
        { id: 1, hash: "aaa", createdAt: 100 },
        { id: 2, hash: "aaa", createdAt: 100 },
      ],
      journal,
    );
    expect(matched.map((entry) => entry.migration?.id)).toEqual(["0000_a", undefined]);
  });
});
