import { hostname, userInfo } from "node:os";
import { ensureOwnTables, type Queryable } from "../db/queryable.js";
import type { CatalogSnapshot } from "../catalog/catalog-snapshot.js";
import type { LedgerMigration, LedgerRun } from "../model/report.js";
import { redact, redactValue } from "../policy/redact.js";
import type { SchemaFingerprint } from "./schema-fingerprint.js";

/** Polymigrate's own run ledger: one table per database, shared by every project and stack on it. */
export const LEDGER_TABLE = { schema: "polymigrate", table: "ledger" } as const;

/** The commands the ledger records: the ones that change the schema, and `baseline`. */
export type LedgerCommand = "up" | "down" | "resolve" | "restore-snapshot" | "baseline";

/** Who ran: the operating-system user, the host, and the CI job when there is one. */
export interface LedgerActor {
  osUser?: string;
  host?: string;
  /** Only the CI variables that name the job (never tokens): GITHUB_RUN_ID, GITHUB_JOB, CI_JOB_ID, ... */
  ci?: Record<string, string>;
}

/** The CI variables the ledger keeps: identifiers of the job, nothing secret. */
export const LEDGER_CI_VARIABLES = [
  "GITHUB_RUN_ID",
  "GITHUB_RUN_ATTEMPT",
  "GITHUB_JOB",
  "GITHUB_WORKFLOW",
  "GITHUB_REPOSITORY",
  "GITHUB_ACTOR",
  "GITHUB_SHA",
  "GITHUB_REF",
  "CI_JOB_ID",
  "CI_PIPELINE_ID",
  "CI_PROJECT_PATH",
  "CI_COMMIT_SHA",
  "BUILDKITE_BUILD_ID",
  "CIRCLE_BUILD_NUM",
  "JENKINS_URL",
  "BUILD_ID",
] as const;

/** Who is running, from the process: user, host and CI job identifiers. */
export function describeActor(env: Record<string, string | undefined> = process.env): LedgerActor {
  let osUser: string | undefined;
  try {
    osUser = userInfo().username;
  } catch {
    osUser = env.USER ?? env.USERNAME;
  }
  const ci = Object.fromEntries(
    LEDGER_CI_VARIABLES.flatMap((name) => (env[name] ? [[name, redact(env[name]!)] as const] : [])),
  );
  return { ...(osUser ? { osUser } : {}), host: hostname(), ...(Object.keys(ci).length > 0 ? { ci } : {}) };
}

const TABLE = `${LEDGER_TABLE.schema}.${LEDGER_TABLE.table}`;
const PROGRESS_TABLE = `${LEDGER_TABLE.schema}.ledger_progress`;

/** Creates the ledger when missing (serialized by a transaction-level advisory lock, so two first runs do not race). */
export async function ensureLedger(db: Queryable): Promise<void> {
  await ensureOwnTables(db, TABLE, LEDGER_TABLE.schema, async () => {
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (
         id bigserial PRIMARY KEY,
         recorded_at timestamptz NOT NULL DEFAULT now(),
         command text NOT NULL,
         project text NOT NULL,
         stack text NOT NULL,
         outcome text NOT NULL,
         os_user text,
         host text,
         db_user text NOT NULL DEFAULT current_user,
         ci jsonb,
         migrations jsonb NOT NULL DEFAULT '[]',
         duration_ms integer,
         error text,
         restore_point jsonb,
         fingerprint text,
         catalog jsonb,
         run_id text,
         finished_at timestamptz
       )`,
    );
    // A ledger made by an earlier version: rows are now written when a run starts (no schema yet) and completed at
    // its end, so a run that dies in the middle stays visible as interrupted.
    const upgraded = await db.query(
      `SELECT 1 FROM pg_attribute WHERE attrelid = '${TABLE}'::regclass AND attname = 'run_id' AND NOT attisdropped`,
    );
    // One small row per migration a running run completes, written inside that migration's transaction (appending
    // to the run's own row would rewrite a growing jsonb value each time).
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
         ledger_id bigint NOT NULL,
         position integer NOT NULL,
         migration jsonb NOT NULL,
         PRIMARY KEY (ledger_id, position)
       )`,
    );
    if (upgraded.rowCount === 0) {
      await db.query(
        `ALTER TABLE ${TABLE} ADD COLUMN run_id text, ADD COLUMN finished_at timestamptz, ALTER COLUMN fingerprint DROP NOT NULL, ALTER COLUMN catalog DROP NOT NULL`,
      );
    }
  });
}

/** One run to record. */
export interface LedgerEntry {
  command: LedgerCommand;
  project: string;
  stack: string;
  outcome: string;
  actor: LedgerActor;
  migrations: LedgerMigration[];
  durationMs?: number;
  error?: string;
  restorePoint?: { time: string; lsn?: string };
  schema: SchemaFingerprint;
}

/** Appends one run to the ledger (creating it first when missing); returns the row's id. Nothing secret is written. */
export async function appendLedger(db: Queryable, entry: LedgerEntry): Promise<number> {
  await ensureLedger(db);
  const safe = redactValue(entry);
  const result = await db.query<{ id: string }>(
    `INSERT INTO ${TABLE} (command, project, stack, os_user, host, ci, outcome, migrations, duration_ms, error, restore_point, fingerprint, catalog)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
    [
      safe.command,
      safe.project,
      safe.stack,
      safe.actor.osUser ?? null,
      safe.actor.host ?? null,
      safe.actor.ci ? JSON.stringify(safe.actor.ci) : null,
      ...completionValues(entry),
    ],
  );
  return Number(result.rows[0]!.id);
}

// The values a completed run's row holds, in the column order outcome, migrations, duration_ms, error,
// restore_point, fingerprint, catalog; nothing secret (the schema snapshot holds none).
function completionValues(entry: Omit<LedgerEntry, "command" | "project" | "stack" | "actor">): unknown[] {
  const safe = redactValue(entry);
  return [
    safe.outcome,
    JSON.stringify(safe.migrations),
    safe.durationMs ?? null,
    safe.error === undefined ? null : redact(safe.error),
    safe.restorePoint ? JSON.stringify(safe.restorePoint) : null,
    entry.schema.fingerprint,
    JSON.stringify(entry.schema.snapshot),
  ];
}

/** Whether the database has a ledger (a cheap catalog lookup). */
export async function hasLedger(db: Queryable): Promise<boolean> {
  const result = await db.query<{ found: boolean }>(`SELECT to_regclass('${TABLE}') IS NOT NULL AS found`);
  return result.rows[0]?.found === true;
}

/** What a run's ledger row says when the run starts: who and what, no schema yet (outcome `running`). */
export interface LedgerStart {
  command: LedgerCommand;
  project: string;
  stack: string;
  actor: LedgerActor;
  runId: string;
}

/**
 * Writes a run's row when it starts, before its first change: outcome `running`, no schema. Rows of earlier runs of
 * the database still `running` whose sessions are all gone are marked `interrupted` first: they died without
 * completing their row (a run that just released the lock may still be completing its own: it is left alone).
 * Returns the new row's id.
 */
export async function startLedgerRun(db: Queryable, entry: LedgerStart): Promise<number> {
  await ensureLedger(db);
  await db.query(
    `UPDATE ${TABLE} l SET outcome = 'interrupted', error = coalesce(error, 'the run ended before completing its record (killed, or its connection was lost)')
      WHERE outcome = 'running' AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name LIKE '% ' || l.run_id)`,
  );
  const safe = redactValue(entry);
  const result = await db.query<{ id: string }>(
    `INSERT INTO ${TABLE} (command, project, stack, outcome, os_user, host, ci, run_id) VALUES ($1, $2, $3, 'running', $4, $5, $6, $7) RETURNING id`,
    [safe.command, safe.project, safe.stack, safe.actor.osUser ?? null, safe.actor.host ?? null, safe.actor.ci ? JSON.stringify(safe.actor.ci) : null, entry.runId],
  );
  return Number(result.rows[0]!.id);
}

/**
 * Records one migration a running run completed; called inside the migration's own transaction, so they commit
 * together. `position` counts from 0 within the run.
 */
export async function appendLedgerMigration(db: Queryable, id: number, position: number, migration: LedgerMigration): Promise<void> {
  await db.query(`INSERT INTO ${PROGRESS_TABLE} (ledger_id, position, migration) VALUES ($1, $2, $3)`, [id, position, JSON.stringify(redactValue(migration))]);
}

/** Completes a run's row at its end: outcome, every migration's outcome, duration, error, and the schema after it. */
export async function completeLedgerRun(db: Queryable, id: number, entry: Omit<LedgerEntry, "command" | "project" | "stack" | "actor">): Promise<void> {
  await db.query(
    `WITH done AS (DELETE FROM ${PROGRESS_TABLE} WHERE ledger_id = $1)
     UPDATE ${TABLE} SET outcome = $2, migrations = $3, duration_ms = $4, error = $5, restore_point = $6, fingerprint = $7, catalog = $8, finished_at = now() WHERE id = $1`,
    [id, ...completionValues(entry)],
  );
}

/** A run whose row was never completed, or that was stopped by a signal: what `status` reports instead of drift. */
export interface InterruptedRun {
  id: number;
  runId: string | null;
  command: string;
  project: string;
  startedAt: string;
  outcome: string;
  osUser?: string;
  host?: string;
  /** The migrations it completed (each appended when it committed). */
  migrations: LedgerMigration[];
  error?: string;
  /** Whether it recorded the schema it left (a run stopped by a signal does; a killed one cannot). */
  hasSchema: boolean;
  /** Whether one of its sessions is still connected (then it is running, not interrupted). */
  isRunning: boolean;
}

/**
 * The newest row of the database's ledger when it is an interrupted run (outcome `running` without a live session,
 * or `interrupted`), or a run in progress; undefined when the newest row is a completed run.
 */
export async function readInterruptedRun(db: Queryable): Promise<InterruptedRun | undefined> {
  const result = await db.query<{
    id: string;
    run_id: string | null;
    command: string;
    project: string;
    recorded_at: Date;
    outcome: string;
    os_user: string | null;
    host: string | null;
    migrations: LedgerMigration[];
    error: string | null;
    has_schema: boolean;
    is_running: boolean;
  }>(
    `SELECT l.id, l.run_id, l.command, l.project, l.recorded_at, l.outcome, l.os_user, l.host, l.error,
            CASE WHEN l.finished_at IS NULL
                 THEN coalesce((SELECT jsonb_agg(p.migration ORDER BY p.position) FROM ${PROGRESS_TABLE} p WHERE p.ledger_id = l.id), '[]')
                 ELSE l.migrations END AS migrations,
            l.fingerprint IS NOT NULL AS has_schema,
            l.outcome = 'running' AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name LIKE '% ' || l.run_id) AS is_running
       FROM ${TABLE} l ORDER BY l.id DESC LIMIT 1`,
  );
  const row = result.rows[0];
  if (!row || (row.outcome !== "running" && row.outcome !== "interrupted")) return undefined;
  return {
    id: Number(row.id),
    runId: row.run_id,
    command: row.command,
    project: row.project,
    startedAt: new Date(row.recorded_at).toISOString(),
    outcome: row.is_running ? "running" : "interrupted",
    ...(row.os_user ? { osUser: row.os_user } : {}),
    ...(row.host ? { host: row.host } : {}),
    migrations: row.migrations,
    ...(row.error ? { error: row.error } : {}),
    hasSchema: row.has_schema,
    isRunning: row.is_running,
  };
}

/** The newest ledger row: the schema the last recorded run (or baseline) left, whichever project ran it. */
export async function readLastLedgerSchema(
  db: Queryable,
): Promise<{ id: number; recordedAt: string; command: string; project: string; fingerprint: string; catalog: CatalogSnapshot } | undefined> {
  const result = await db.query<{ id: string; recorded_at: Date; command: string; project: string; fingerprint: string; catalog: CatalogSnapshot }>(
    `SELECT id, recorded_at, command, project, fingerprint, catalog FROM ${TABLE} WHERE fingerprint IS NOT NULL ORDER BY id DESC LIMIT 1`,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    id: Number(row.id),
    recordedAt: new Date(row.recorded_at).toISOString(),
    command: row.command,
    project: row.project,
    fingerprint: row.fingerprint,
    catalog: row.catalog,
  };
}

/** Every ledger row of the database, oldest first, without the stored catalogs. */
export async function readLedgerRuns(db: Queryable): Promise<LedgerRun[]> {
  const result = await db.query<{
    id: string;
    recorded_at: Date;
    command: string;
    project: string;
    stack: string;
    outcome: string;
    os_user: string | null;
    host: string | null;
    db_user: string;
    ci: Record<string, string> | null;
    migrations: LedgerMigration[];
    duration_ms: number | null;
    error: string | null;
    restore_point: { time: string; lsn?: string } | null;
    fingerprint: string | null;
  }>(
    `SELECT id, recorded_at, command, project, stack, outcome, os_user, host, db_user, ci, migrations, duration_ms, error, restore_point, fingerprint
       FROM ${TABLE} ORDER BY id`,
  );
  return result.rows.map((row) => ({
    id: Number(row.id),
    recordedAt: new Date(row.recorded_at).toISOString(),
    command: row.command,
    project: row.project,
    stack: row.stack,
    outcome: row.outcome,
    ...(row.os_user ? { osUser: row.os_user } : {}),
    ...(row.host ? { host: row.host } : {}),
    dbUser: row.db_user,
    ...(row.ci ? { ci: row.ci } : {}),
    migrations: row.migrations,
    ...(row.duration_ms === null ? {} : { durationMs: row.duration_ms }),
    ...(row.error ? { error: row.error } : {}),
    ...(row.restore_point ? { restorePoint: row.restore_point } : {}),
    fingerprint: row.fingerprint ?? "",
  }));
}
