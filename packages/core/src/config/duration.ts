// The one reading of a duration, shared by the flags, the configuration and the migration comments, so that "5"
// means the same everywhere. Written here rather than taken from a library: `ms` and its kin read a bare number as
// milliseconds and accept words ("5 days"), and PostgreSQL's own units (ms, s, min, h) are what users copy.

/** The largest duration PostgreSQL's `lock_timeout` and `statement_timeout` accept: 2^31 - 1 ms (about 24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

/**
 * A bare number must stay below this many seconds: configurations and migration comments used to read a bare number
 * as milliseconds, so `5000` (5 s then, 83 minutes now) is refused rather than silently stretched.
 */
export const MAX_BARE_SECONDS = 1000;

/** How a duration is written, for messages. */
export const DURATION_HINT = 'a number with a unit, such as "500ms", "5s", "2min" or "1h" (a bare number is seconds; 0 is off)';

/** The reading of a duration: its milliseconds, or what is wrong with it (a phrase that follows the value's name). */
export type DurationResult = { ok: true; milliseconds: number } | { ok: false; problem: string };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
/** The written form of a duration, as JSON Schema checks it: a number, then a unit or none. */
export const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|min|m|h)?\s*$/;

/**
 * Reads a duration: `500ms`, `5s`, `2m` or `2min`, `1h`; a bare number (`5`, `"5"`, `0.4`) is seconds. Zero is off;
 * a positive value under 1 ms is refused rather than rounded to off; the rest is rounded to whole milliseconds.
 *
 * @example
 * parseDuration("5"); // { ok: true, milliseconds: 5000 }, as parseDuration("5s") and parseDuration(5)
 */
export function parseDuration(value: unknown): DurationResult {
  const shown = JSON.stringify(value) ?? String(value);
  let amount: number;
  let unit: string | undefined;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) return { ok: false, problem: `is ${shown}; use ${DURATION_HINT}` };
    amount = value;
  } else if (typeof value === "string") {
    const match = DURATION_PATTERN.exec(value);
    if (!match) return { ok: false, problem: `is ${shown}, not a duration; use ${DURATION_HINT}` };
    amount = Number(match[1]);
    unit = match[2];
  } else {
    return { ok: false, problem: `is ${shown}; use ${DURATION_HINT}` };
  }
  if (unit === undefined && amount >= MAX_BARE_SECONDS) {
    return {
      ok: false,
      problem: `is ${shown}: a bare number is seconds, and one of ${MAX_BARE_SECONDS} or more must say its unit; write "${amount}s" if you mean seconds or "${amount}ms" for milliseconds`,
    };
  }
  const exact = amount * UNITS[unit ?? "s"]!;
  if (exact > 0 && exact < 1) {
    return { ok: false, problem: `is ${shown}, less than 1ms: PostgreSQL counts whole milliseconds, so it would turn the timeout off; use 0 for off, or 1ms or more` };
  }
  const milliseconds = Math.round(exact);
  if (milliseconds > MAX_DURATION_MS) {
    return { ok: false, problem: `is ${shown}, longer than PostgreSQL allows (${MAX_DURATION_MS}ms, about 24 days); use a shorter one, or 0 for off` };
  }
  return { ok: true, milliseconds };
}
