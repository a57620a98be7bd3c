import { connect, type DatabaseSession } from "../db/connect.js";
import { MigrateError } from "../model/errors.js";

// One lock per database, whatever the stack: the two-key advisory lock (classid, objid) = ("pmig", 0).
const LOCK_CLASS = 0x706d6967;
const LOCK_OBJECT = 0;

/** Who holds the migration lock, as `pg_stat_activity` tells. */
export interface LockHolder {
  pid: number;
  applicationName: string;
  clientAddress: string | null;
  since: string | null;
  query: string | null;
}

/** A held migration lock; `release` is safe to call twice. */
export interface MigrationLock {
  waitedMs: number;
  /** Whether another run held the lock when this one asked. */
  hasWaited: boolean;
  release(): Promise<void>;
}

/** Options of {@link acquireMigrationLock}. */
export interface AcquireLockOptions {
  /** How long to wait for another run's lock, in milliseconds. Default 60 s. */
  waitMs?: number;
  pollMs?: number;
  onWait?: (holder: LockHolder | undefined) => void;
  source?: string;
}

/** Reads who holds the migration lock on the database `session` is connected to. */
export async function findLockHolder(session: DatabaseSession): Promise<LockHolder | undefined> {
  const result = await session.client.query<{
    pid: number;
    application_name: string;
    client_addr: string | null;
    since: Date | null;
    query: string | null;
  }>(
    `SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.xact_start AS since, a.query
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_CLASS, LOCK_OBJECT],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    pid: row.pid,
    applicationName: row.application_name,
    clientAddress: row.client_addr,
    since: row.since ? new Date(row.since).toISOString() : null,
    query: row.query,
  };
}

/** Describes a holder in one line. */
export function describeLockHolder(holder: LockHolder): string {
  const app = holder.applicationName ? `"${holder.applicationName}"` : "an unnamed client";
  const from = holder.clientAddress ? ` from ${holder.clientAddress}` : " on a local socket";
  const since = holder.since ? `, in its current transaction since ${holder.since}` : "";
  const query = holder.query ? `, last query: ${holder.query.replace(/\s+/g, " ").slice(0, 200)}` : "";
  return `pid ${holder.pid} (${app}${from}${since}${query})`;
}

/**
 * Takes the database's migration lock on a session of its own, polling a try-lock (a blocking lock call can deadlock
 * against another run's `CREATE INDEX CONCURRENTLY`), and gives up after `waitMs` naming the holder.
 */
export async function acquireMigrationLock(url: string, options: AcquireLockOptions = {}): Promise<MigrationLock> {
  const waitMs = options.waitMs ?? 60_000;
  const pollMs = options.pollMs ?? 200;
  const session = await connect(url, { applicationName: "polymigrate lock", source: options.source });
  const started = Date.now();
  let hasReportedWait = false;
  try {
    for (;;) {
      const result = await session.client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock($1, $2) AS locked",
        [LOCK_CLASS, LOCK_OBJECT],
      );
      if (result.rows[0]?.locked) break;
      const holder = await findLockHolder(session);
      if (!hasReportedWait) {
        options.onWait?.(holder);
        hasReportedWait = true;
      }
      if (Date.now() - started >= waitMs) {
        const who = holder ? describeLockHolder(holder) : "another session (it released the lock just now)";
        throw new MigrateError(
          "LOCK_TIMEOUT",
          `Another migration holds the lock on this database: ${who}. Waited ${Math.round((Date.now() - started) / 100) / 10} s. Wait for it to finish, or raise --lock-wait; "migrate doctor" shows more.`,
          { details: { holder, waitedMs: Date.now() - started } },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } catch (error) {
    await session.close();
    throw error;
  }
  let isReleased = false;
  return {
    waitedMs: Date.now() - started,
    hasWaited: hasReportedWait,
    release: async () => {
      if (isReleased) return;
      isReleased = true;
      await session.client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_CLASS, LOCK_OBJECT]).catch(() => {});
      await session.close();
    },
  };
}
