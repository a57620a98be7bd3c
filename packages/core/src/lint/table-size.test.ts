import { describe, expect, it } from "vitest";
import { DEFAULT_HAZARD_THRESHOLD, formatBytes, formatCount, judgeTableSize } from "./table-size.js";

describe("judgeTableSize", () => {
  it("blocks above the threshold, naming the rows and what the statement does", () => {
    const verdict = judgeTableSize("require-concurrent-index-creation", { table: "public.users", rows: 2_300_000, bytes: 180 * 1024 * 1024 }, DEFAULT_HAZARD_THRESHOLD);
    expect(verdict).toMatchObject({ isHazard: true, hazard: { judgement: "large-table", rows: 2_300_000 } });
    expect(verdict.reason).toBe('table "public.users" has about 2.3M rows (180 MB): a plain CREATE INDEX blocks its writes for the whole build');
  });

  it("is a notice at or below it, and judges a never-analyzed table by its bytes", () => {
    expect(judgeTableSize("changing-column-type", { table: "public.tags", rows: 12, bytes: 16384 }, DEFAULT_HAZARD_THRESHOLD).reason).toBe(
      'table "public.tags" has about 12 rows (16 kB): below the hazard threshold (10000 rows, 10 MB)',
    );
    expect(judgeTableSize("changing-column-type", { table: "public.t", bytes: 40 * 1024 * 1024 }, DEFAULT_HAZARD_THRESHOLD)).toMatchObject({
      isHazard: true,
      reason: expect.stringContaining('table "public.t" was never analyzed and takes 40 MB: changing a column\'s type rewrites it'),
    });
    expect(judgeTableSize("changing-column-type", { table: "public.t", rows: 50, bytes: 40 * 1024 * 1024 }, { rows: 10_000, bytes: 100 * 1024 * 1024 }).isHazard).toBe(false);
  });

  it("formats counts and sizes as a person reads them", () => {
    expect([12, 8400, 200_000, 2_345_678, 1_100_000_000].map(formatCount)).toEqual(["12", "8.4k", "200k", "2.3M", "1.1B"]);
    expect([512, 16384, 7.1 * 1024 * 1024].map(formatBytes)).toEqual(["512 bytes", "16 kB", "7.1 MB"]);
  });
});
