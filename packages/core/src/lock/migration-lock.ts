import type { DatabaseSession } from "../db/connect.js";
import { SESSION_NAME_SQL_PATTERN } from "../run/run-id.js";
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

/**
 * A held migration lock. It is held by the session that runs the migrations, so that no migration can commit once the
 * lock is gone: when that session ends (terminated, timed out, its network dropped), its open transaction is rolled
 * back by the server in the same moment the lock is released. `release` is safe to call twice.
 */
export interface MigrationLock {
  waitedMs: number;
  /** Whether another run held the lock when this one asked. */
  hasWaited: boolean;
  /** The server process that holds the lock (the migrating session's `pg_backend_pid()`). */
  holderPid: number;
  /** Whether the lock is still held: false once its session ended. */
  isHeld(): boolean;
  release(): Promise<void>;
}

/** Options of {@link acquireMigrationLock}. */
export interface AcquireLockOptions {
  /** How long to wait for another run's lock, in milliseconds. Default 60 s. */
  waitMs?: number;
  pollMs?: number;
  onWait?: (holder: LockHolder | undefined) => void;
}

// Marks the polling query, so that a run looking for the sessions of earlier runs still at work passes over it.
const POLL_MARK = "/* polymigrate:lock-poll */";

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
 * Takes the database's migration lock on `session` (the session that will run the migrations), polling a try-lock (a
 * blocking lock call can deadlock against another run's `CREATE INDEX CONCURRENTLY`), and gives up after `waitMs`
 * naming the holder.
 */
export async function acquireMigrationLock(session: DatabaseSession, options: AcquireLockOptions = {}): Promise<MigrationLock> {
  const waitMs = options.waitMs ?? 60_000;
  const pollMs = options.pollMs ?? 200;
  const started = Date.now();
  let hasReportedWait = false;
  for (;;) {
    const result = await session.client.query<{ locked: boolean }>(`${POLL_MARK} SELECT pg_try_advisory_lock($1, $2) AS locked`, [
      LOCK_CLASS,
      LOCK_OBJECT,
    ]);
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
  let isReleased = false;
  return {
    waitedMs: Date.now() - started,
    hasWaited: hasReportedWait,
    holderPid: session.pid,
    isHeld: () => !isReleased && session.isAlive(),
    release: async () => {
      if (isReleased) return;
      isReleased = true;
      if (session.isAlive()) {
        await session.client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_CLASS, LOCK_OBJECT]).catch(() => {});
      }
    },
  };
}

/**
 * SQL that fails with SQLSTATE `PMLCK` unless the server process `holderPid` still holds the migration lock: a
 * native runner's child (which migrates on a connection of its own) runs it before each commit.
 */
export function lockGuardSql(holderPid: number): string {
  const pid = Math.trunc(holderPid);
  return `DO $polymigrate$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = ${LOCK_CLASS} AND objid = ${LOCK_OBJECT} AND objsubid = 2 AND granted AND pid = ${pid}) THEN RAISE EXCEPTION 'polymigrate: this run no longer holds the migration lock (its session, pid ${pid}, ended)' USING ERRCODE = 'PMLCK'; END IF; END $polymigrate$`;
}

/** The SQLSTATE of {@link lockGuardSql}'s failure. */
export const LOCK_LOST_SQLSTATE = "PMLCK";

/** A session of an earlier run that is still at work on the database. */
export interface EarlierRunSession {
  pid: number;
  applicationName: string;
  state: string | null;
  since: string | null;
  query: string | null;
}

/** The sessions of other runs (named by {@link sessionName}) that are not idle: an earlier run may still be at work. */
export async function findEarlierRunSessions(session: DatabaseSession, runId: string): Promise<EarlierRunSession[]> {
  const result = await session.client.query<{ pid: number; application_name: string; state: string | null; since: Date | null; query: string | null }>(
    `SELECT pid, application_name, state, coalesce(xact_start, query_start) AS since, left(query, 300) AS query
       FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid()
        AND application_name ~ $1 AND application_name NOT LIKE $2
        AND state IS DISTINCT FROM 'idle' AND NOT starts_with(query, $3)`,
    [SESSION_NAME_SQL_PATTERN, `% ${runId}`, POLL_MARK],
  );
  return result.rows.map((row) => ({
    pid: row.pid,
    applicationName: row.application_name,
    state: row.state,
    since: row.since ? new Date(row.since).toISOString() : null,
    query: row.query,
  }));
}

/**
 * Waits, within `waitMs`, until no session of an earlier run is still at work on the database (a killed run's server
 * process goes on with its statement until it notices its client is gone), then returns how long it waited. Throws
 * `LOCK_TIMEOUT` naming them when they are still there after `waitMs`.
 */
export async function waitForEarlierRuns(
  session: DatabaseSession,
  runId: string,
  options: { waitMs: number; pollMs?: number; onWait?: (sessions: EarlierRunSession[]) => void },
): Promise<number> {
  const started = Date.now();
  let hasReported = false;
  for (;;) {
    const sessions = await findEarlierRunSessions(session, runId);
    if (sessions.length === 0) return Date.now() - started;
    if (!hasReported) {
      options.onWait?.(sessions);
      hasReported = true;
    }
    if (Date.now() - started >= options.waitMs) {
      const list = sessions.map((entry) => `pid ${entry.pid} ("${entry.applicationName}", ${entry.state ?? "unknown state"} since ${entry.since ?? "?"}: ${(entry.query ?? "").replace(/\s+/g, " ").slice(0, 120)})`).join("; ");
      throw new MigrateError(
        "LOCK_TIMEOUT",
        `An earlier migration run is still at work on this database: ${list}. It may be a run that was killed and whose statement is still running on the server. Waited ${Math.round((Date.now() - started) / 100) / 10} s. Wait for it to end (or end it with "migrate doctor --terminate <pid>"), then run again.`,
        { details: { sessions, waitedMs: Date.now() - started } },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
  }
}
