import { ensureOwnTables, type Queryable } from "../db/queryable.js";

/**
 * Polymigrate's record of migrations that started outside a transaction and have not finished: one row per project
 * history table and migration, written before the migration's first statement and removed in the same transaction
 * that records it in the stack's history. A row that outlives its run means the run died in the middle of it.
 */
export const UNFINISHED_TABLE = { schema: "polymigrate", table: "unfinished_migrations" } as const;

const TABLE = `${UNFINISHED_TABLE.schema}.${UNFINISHED_TABLE.table}`;

/** A migration that started outside a transaction and did not finish. */
export interface UnfinishedMigration {
  /** The project's history table, as `schema.table`: the scope of the id. */
  historyTable: string;
  id: string;
  runId: string;
  direction: "up" | "down";
  startedAt: string;
  /** Statements known to have completed (counted by the core; unknown for native stacks). */
  statementsApplied: number | null;
  statementsTotal: number | null;
  file: string | null;
  /** Whether a session of its run is still connected: then it is in progress, not unfinished. */
  isRunning: boolean;
}

/** Creates the table when missing (serialized by a transaction-level advisory lock). */
export async function ensureUnfinishedTable(db: Queryable): Promise<void> {
  await ensureOwnTables(db, TABLE, UNFINISHED_TABLE.schema, async () => {
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (
         history_table text NOT NULL,
         id text NOT NULL,
         run_id text NOT NULL,
         direction text NOT NULL,
         started_at timestamptz NOT NULL DEFAULT now(),
         statements_applied integer,
         statements_total integer,
         file text,
         PRIMARY KEY (history_table, id)
       )`,
    );
  });
}

/** The unfinished migrations of one history table; none when the table does not exist (reading never creates it). */
export async function readUnfinished(db: Queryable, historyTable: string): Promise<UnfinishedMigration[]> {
  const exists = await db.query<{ found: boolean }>(`SELECT to_regclass('${TABLE}') IS NOT NULL AS found`);
  if (!exists.rows[0]?.found) return [];
  const result = await db.query<{
    id: string;
    run_id: string;
    direction: string;
    started_at: Date;
    statements_applied: number | null;
    statements_total: number | null;
    file: string | null;
    is_running: boolean;
  }>(
    `SELECT id, run_id, direction, started_at, statements_applied, statements_total, file,
            EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name LIKE '% ' || run_id) AS is_running
       FROM ${TABLE} WHERE history_table = $1 ORDER BY started_at`,
    [historyTable],
  );
  return result.rows.map((row) => ({
    historyTable,
    id: row.id,
    runId: row.run_id,
    direction: row.direction === "down" ? "down" : "up",
    startedAt: new Date(row.started_at).toISOString(),
    statementsApplied: row.statements_applied,
    statementsTotal: row.statements_total,
    file: row.file,
    isRunning: row.is_running,
  }));
}

function literal(value: string | number | null): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(Math.trunc(value));
  return `'${value.replace(/'/g, "''")}'`;
}

/** What a started record says. */
export interface UnfinishedStart {
  historyTable: string;
  id: string;
  runId: string;
  direction: "up" | "down";
  statementsTotal?: number;
  file?: string;
  /** Whether the core counts the completed statements (absent for a native runner's child: the count is unknown). */
  isCounted?: boolean;
}

/**
 * The statement that records a migration as started (replacing an older record of it), as literal SQL: the core runs
 * it itself, and a native runner's child runs it on its own connection.
 */
export function recordStartedSql(record: UnfinishedStart): string {
  const counted = record.isCounted === false ? null : 0;
  const values = [record.historyTable, record.id, record.runId, record.direction, counted, record.statementsTotal ?? null, record.file ?? null].map(literal);
  return `INSERT INTO ${TABLE} (history_table, id, run_id, direction, statements_applied, statements_total, file) VALUES (${values.join(", ")}) ON CONFLICT (history_table, id) DO UPDATE SET run_id = EXCLUDED.run_id, direction = EXCLUDED.direction, started_at = now(), statements_applied = EXCLUDED.statements_applied, statements_total = EXCLUDED.statements_total, file = EXCLUDED.file`;
}

/** Counts one more completed statement of a started migration. */
export async function countUnfinishedStatement(db: Queryable, historyTable: string, id: string, statementsApplied: number): Promise<void> {
  await db.query(`UPDATE ${TABLE} SET statements_applied = $3 WHERE history_table = $1 AND id = $2`, [historyTable, id, statementsApplied]);
}

/** Removes a migration's started record (it finished, or someone resolved it). */
export async function clearUnfinished(db: Queryable, historyTable: string, id: string): Promise<void> {
  await db.query(`DELETE FROM ${TABLE} WHERE history_table = $1 AND id = $2`, [historyTable, id]);
}

/** Removes the records of migrations the stack's history shows as finished: their run died after the history row. */
export async function clearFinishedRecords(db: Queryable, historyTable: string, finishedIds: string[]): Promise<void> {
  if (finishedIds.length === 0) return;
  await db.query(`DELETE FROM ${TABLE} WHERE history_table = $1 AND id = ANY($2::text[])`, [historyTable, finishedIds]);
}
