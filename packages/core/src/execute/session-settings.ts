import type pg from "pg";
import { parseDuration } from "../config/duration.js";

/** How long a migration's statements may wait and run, and how often a lock timeout is retried. */
export interface SafetySettings {
  /** `lock_timeout` for each migration's session, in ms; default 5000. 0 turns it off. */
  lockTimeoutMs: number;
  /** `statement_timeout`, in ms; default 0 (off). */
  statementTimeoutMs: number;
  /** How many times a migration that failed on a lock timeout (SQLSTATE 55P03) is retried; default 3. */
  retries: number;
  /** The first retry's delay in ms; each further retry doubles it. Default 1000. */
  retryDelayMs: number;
}

/** The defaults of {@link SafetySettings}. */
export const DEFAULT_SAFETY: SafetySettings = { lockTimeoutMs: 5000, statementTimeoutMs: 0, retries: 3, retryDelayMs: 1000 };

/** A migration's safety comment: `-- polymigrate:lock-timeout 30s`, its name and its value. */
export const SAFETY_DIRECTIVE = /^\s*--\s*polymigrate:(lock-timeout|statement-timeout|retries)\s+(\S+)/gim;

/**
 * A migration's own settings, from comments at the top of its SQL: `-- polymigrate:lock-timeout 30s`,
 * `-- polymigrate:statement-timeout 10m`, `-- polymigrate:retries 0`. Unreadable values are ignored.
 */
export function readSafetyDirectives(sql: string, base: SafetySettings): SafetySettings {
  const settings = { ...base };
  for (const match of sql.matchAll(SAFETY_DIRECTIVE)) {
    const [, name, value = ""] = match;
    if (name === "retries") {
      if (/^\d+$/.test(value)) settings.retries = Number(value);
      continue;
    }
    const duration = parseDuration(value);
    if (!duration.ok) continue;
    const { milliseconds } = duration;
    if (name === "lock-timeout") settings.lockTimeoutMs = milliseconds;
    else settings.statementTimeoutMs = milliseconds;
  }
  return settings;
}

/** Sets the session's `lock_timeout` and `statement_timeout` (after the migration lock is held). */
export async function applySessionSettings(client: pg.Client, settings: SafetySettings): Promise<void> {
  await client.query(
    `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)`,
    [`${Math.round(settings.lockTimeoutMs)}ms`, `${Math.round(settings.statementTimeoutMs)}ms`],
  );
}

/** Whether a failure was a lock timeout (SQLSTATE 55P03, lock_not_available). */
export function isLockTimeout(sqlState: string | undefined): boolean {
  return sqlState === "55P03";
}
