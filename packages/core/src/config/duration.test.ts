import { describe, expect, it } from "vitest";
import { MAX_DURATION_MS, parseDuration } from "./duration.js";

function milliseconds(value: unknown): number | undefined {
  const result = parseDuration(value);
  return result.ok ? result.milliseconds : undefined;
}

describe("parseDuration", () => {
  it("reads a bare number as seconds, as a string or a number alike", () => {
    expect(milliseconds("5")).toBe(5000);
    expect(milliseconds(5)).toBe(5000);
    expect(milliseconds(" 5 ")).toBe(5000);
    expect(milliseconds("0.4")).toBe(400);
    expect(milliseconds(0.4)).toBe(400);
    expect(milliseconds(".5")).toBe(500);
  });

  it("reads the units ms, s, m, min and h", () => {
    expect(milliseconds("500ms")).toBe(500);
    expect(milliseconds("5s")).toBe(5000);
    expect(milliseconds("5 s")).toBe(5000);
    expect(milliseconds("2m")).toBe(120_000);
    expect(milliseconds("2min")).toBe(120_000);
    expect(milliseconds("1h")).toBe(3_600_000);
    expect(milliseconds("1.5s")).toBe(1500);
    expect(milliseconds("2.6ms")).toBe(3);
  });

  it("keeps 0 as off, in any unit", () => {
    expect(milliseconds(0)).toBe(0);
    expect(milliseconds("0")).toBe(0);
    expect(milliseconds("0ms")).toBe(0);
  });

  it("never rounds a positive value down to off", () => {
    for (const value of ["0.4ms", "0.0004", 0.0001, "0.9ms"]) {
      const result = parseDuration(value);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problem).toContain("less than 1ms");
    }
    expect(milliseconds("1ms")).toBe(1);
  });

  it("refuses a large bare number, which older versions read as milliseconds", () => {
    const result = parseDuration(5000);
    expect(result).toEqual({ ok: false, problem: expect.stringContaining('write "5000s" if you mean seconds or "5000ms"') });
    expect(milliseconds("5000ms")).toBe(5000);
    expect(milliseconds("999")).toBe(999_000);
  });

  it("refuses what is not a duration, naming the value", () => {
    for (const value of [-1, "-1s", "5 seconds", "5d", "", "abc", true, null, Number.NaN, Number.POSITIVE_INFINITY, {}]) {
      const result = parseDuration(value);
      expect(result.ok, String(value)).toBe(false);
    }
    expect(parseDuration(true)).toEqual({ ok: false, problem: expect.stringMatching(/^is true; use a number with a unit/) });
    expect(parseDuration("5 seconds")).toEqual({ ok: false, problem: expect.stringMatching(/^is "5 seconds", not a duration/) });
  });

  it("refuses more than PostgreSQL's timeouts accept", () => {
    expect(milliseconds(`${MAX_DURATION_MS}ms`)).toBe(MAX_DURATION_MS);
    expect(parseDuration("25d").ok).toBe(false);
    expect(parseDuration("600h")).toEqual({ ok: false, problem: expect.stringContaining("longer than PostgreSQL allows") });
  });
});
