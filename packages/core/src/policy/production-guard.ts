import type { DatabaseSession } from "../db/connect.js";
import { MigrateError } from "../model/errors.js";

/** What marks a project as production. */
export type ProductionMark = "config" | "MIGRATE_ENV";

/** The database name of a URL (what `--confirm` must repeat). */
export function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "postgres";
}

/**
 * Refuses a destructive command (`down`, `push`, `reset`) on a production project unless `confirm` repeats the
 * database's name: a deliberate, typed confirmation, not a flag one passes by habit.
 */
export function requireProductionConfirmation(options: {
  project: string;
  url: string;
  mark: ProductionMark | undefined;
  command: string;
  confirm: string | undefined;
}): void {
  if (!options.mark) return;
  const database = databaseNameOf(options.url);
  if (options.confirm === database) return;
  const by = options.mark === "config" ? "its configuration (production: true)" : "MIGRATE_ENV=production";
  const wrong = options.confirm === undefined ? "" : ` (--confirm "${options.confirm}" does not match)`;
  throw new MigrateError(
    "PRODUCTION_GUARD",
    `Project "${options.project}" is production, by ${by}: "migrate ${options.command}" on database "${database}" needs --confirm ${database}${wrong}. Nothing was changed.`,
    { details: { project: options.project, database, command: options.command } },
  );
}

/** Where to go back to after a production run: the time and WAL position before it. */
export interface RestorePoint {
  time: string;
  /** `pg_current_wal_lsn()`, when the role may read it (not on a standby). */
  lsn?: string;
  /** How to restore to it, in words. */
  howTo: string;
}

/** Reads the server's time and WAL position before a production run, and says how to restore to them. */
export async function recordRestorePoint(session: DatabaseSession): Promise<RestorePoint> {
  let time: string;
  let lsn: string | undefined;
  try {
    const result = await session.client.query<{ time: Date; lsn: string }>("SELECT now() AS time, pg_current_wal_lsn()::text AS lsn");
    time = new Date(result.rows[0]!.time).toISOString();
    lsn = result.rows[0]!.lsn;
  } catch {
    const result = await session.client.query<{ time: Date }>("SELECT now() AS time");
    time = new Date(result.rows[0]!.time).toISOString();
  }
  const at = lsn ? `${time} (WAL LSN ${lsn})` : time;
  return {
    time,
    ...(lsn ? { lsn } : {}),
    howTo: `To undo this run entirely, restore the database to ${at} with point-in-time recovery (recovery_target_time${lsn ? " or recovery_target_lsn" : ""}); on Neon, create a branch from this time${lsn ? " or LSN" : ""}; on RDS or Supabase, restore to this time from the console.`,
  };
}
