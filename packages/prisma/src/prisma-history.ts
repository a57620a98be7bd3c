import { randomUUID } from "node:crypto";
import {
  MigrateError,
  quoteIdent,
  redact,
  type HistoryEntry,
  type HistoryStore,
  type Migration,
  type Queryable,
} from "@polymigrate/core";

/** Prisma's history table name; the table's format must match Prisma's exactly, so that both tools read each other. */
export const PRISMA_HISTORY_TABLE = "_prisma_migrations";

/** One row of `_prisma_migrations`, as Prisma writes it. */
export interface PrismaMigrationRow extends Record<string, unknown> {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

/** Options of {@link createPrismaHistory}. */
export interface PrismaHistoryOptions {
  /** The PostgreSQL schema Prisma migrates (the URL's `?schema=`, or the adapter's `schema`); default `public`. */
  schema?: string;
}

/**
 * Prisma's own DDL for the table (schema-engine's `sql_migration_persistence`), column for column; checked against
 * what `prisma migrate deploy` 6.19 creates.
 */
function createTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;
}

/** The error for a second history row of one migration: another run applied it, so this one rolls back. */
export function alreadyApplied(id: string, table: string): MigrateError {
  return new MigrateError(
    "HISTORY_INVALID",
    `Migration "${id}" is already recorded as applied in ${table}: another run applied it while this one ran. This run's transaction was rolled back; run "migrate status".`,
    { details: { id } },
  );
}

/** Whether a row is Prisma's "failed" state: started, neither finished nor rolled back. */
export function isFailedRow(row: Pick<PrismaMigrationRow, "finished_at" | "rolled_back_at">): boolean {
  return row.finished_at === null && row.rolled_back_at === null;
}

/**
 * Translates Prisma's rows into one history entry per migration, as `prisma migrate deploy` reads them: rows marked
 * rolled back are ignored (the migration counts as not applied), a failed row wins over anything else (deploy refuses
 * with P3009), otherwise the latest finished row is the applied one.
 */
export function toHistoryEntries(rows: PrismaMigrationRow[]): HistoryEntry[] {
  const byName = new Map<string, HistoryEntry>();
  for (const row of rows) {
    if (row.rolled_back_at !== null) continue;
    const failed = isFailedRow(row);
    const existing = byName.get(row.migration_name);
    if (existing?.status === "failed" && !failed) continue;
    byName.set(row.migration_name, {
      id: row.migration_name,
      checksum: row.checksum,
      status: failed ? "failed" : "applied",
      appliedAt: row.finished_at ?? row.started_at,
      ...(row.finished_at ? { durationMs: row.finished_at.getTime() - row.started_at.getTime() } : {}),
      ...(row.logs ? { logs: row.logs } : {}),
    });
  }
  return [...byName.values()];
}

/**
 * Prisma's history table `_prisma_migrations`, read and written exactly as Prisma Migrate does: a random UUID per row,
 * the SHA-256 hex of `migration.sql`'s bytes as checksum, `applied_steps_count` 1 for an applied script, a failed
 * migration left as a row with `finished_at` and `rolled_back_at` both NULL and the error in `logs`.
 *
 * @example
 * const history = createPrismaHistory({ schema: "public" });
 */
export function createPrismaHistory(options: PrismaHistoryOptions = {}): HistoryStore {
  const schema = options.schema ?? "public";
  const table = `${quoteIdent(schema)}.${quoteIdent(PRISMA_HISTORY_TABLE)}`;

  async function readRows(db: Queryable): Promise<PrismaMigrationRow[]> {
    const result = await db.query<PrismaMigrationRow>(
      `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
         FROM ${table} ORDER BY started_at, migration_name`,
    );
    return result.rows;
  }

  async function insertRow(
    db: Queryable,
    migration: Migration,
    row: { startedAt: Date; finishedAt: Date | null; logs: string | null; appliedStepsCount: number },
  ): Promise<void> {
    await db.query(
      `INSERT INTO ${table} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)`,
      [randomUUID(), migration.checksum, row.finishedAt, migration.id, row.logs, row.startedAt, row.appliedStepsCount],
    );
  }

  return {
    location: { schema, table: PRISMA_HISTORY_TABLE },
    async exists(db) {
      const result = await db.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [table]);
      return result.rows[0]?.found != null;
    },
    async ensure(db) {
      if (schema !== "public") await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await db.query(createTableSql(table));
    },
    async read(db) {
      return toHistoryEntries(await readRows(db));
    },
    async recordStarted(db, migration, record) {
      // The row Prisma writes before it runs a migration: finished_at NULL. Until it is finished, Prisma's own
      // `migrate deploy` stops on it (P3009), as it would after its own crash.
      await insertRow(db, migration, { startedAt: record.startedAt, finishedAt: null, logs: null, appliedStepsCount: 0 });
    },
    async recordApplied(db, migration, record) {
      // Prisma counts a migration script as one step: a finished migration has applied_steps_count 1.
      if (record.wasStarted) {
        await db.query(
          `UPDATE ${table} SET finished_at = $2, applied_steps_count = 1 WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
          [migration.id, record.finishedAt],
        );
        return;
      }
      // Never a second row for an applied migration: a run that somehow lost its exclusivity fails here instead.
      // The casts give $4 one type: the SELECT list alone would deduce text and the comparison varchar (42P08).
      const result = await db.query(
        `INSERT INTO ${table} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
         SELECT $1::varchar, $2::varchar, $3::timestamptz, $4::varchar, NULL, NULL, $5::timestamptz, 1
          WHERE NOT EXISTS (SELECT 1 FROM ${table} WHERE migration_name = $4::varchar AND finished_at IS NOT NULL AND rolled_back_at IS NULL)`,
        [randomUUID(), migration.checksum, record.finishedAt, migration.id, record.startedAt],
      );
      if (result.rowCount === 0) throw alreadyApplied(migration.id, table);
    },
    async recordFailed(db, migration, record) {
      // The row Prisma itself leaves after a failure: finished_at and rolled_back_at NULL, the error in logs. A
      // migration that ran in a transaction left nothing behind; one that could not run in a transaction keeps the
      // statements that ran before the error, which the log counts.
      const logs = redact(
        `Polymigrate: migration "${migration.id}" failed after ${record.statementsApplied} statement(s) had run ` +
          `(rolled back with its transaction when it ran in one).\n${record.message}`,
      );
      if (record.wasStarted) {
        await db.query(`UPDATE ${table} SET logs = $2 WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`, [migration.id, logs]);
        return;
      }
      await insertRow(db, migration, { startedAt: record.startedAt, finishedAt: null, logs, appliedStepsCount: 0 });
    },
    async recordRolledBack(db, migration) {
      // `migrate down` removes the migration's rows. Prisma 6.19 treats a migration with any row as applied in
      // `prisma migrate status` but re-applies one whose rows are all rolled back in `migrate deploy`; with no row at
      // all, both agree that it is pending.
      await db.query(`DELETE FROM ${table} WHERE migration_name = $1`, [migration.id]);
    },
    async markResolved(db, migration, as) {
      const rows = (await readRows(db)).filter((row) => row.migration_name === migration.id);
      const failed = rows.filter(isFailedRow);
      if (as === "rolled-back") {
        // `prisma migrate resolve --rolled-back` only accepts a failed migration (P3012) and marks its row.
        if (failed.length === 0) {
          throw new MigrateError(
            "USAGE",
            `Migration "${migration.id}" cannot be marked rolled back because it is not in a failed state (Prisma's P3012). To undo an applied migration, run "migrate down".`,
            { details: { id: migration.id } },
          );
        }
        await db.query(
          `UPDATE ${table} SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
          [migration.id],
        );
        return;
      }
      // `prisma migrate resolve --applied`: the failed rows are marked rolled back, and a new row records the
      // migration as applied without running it (no step applied, and an empty `logs`, as Prisma 6.19 writes it).
      if (failed.length > 0) {
        await db.query(
          `UPDATE ${table} SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
          [migration.id],
        );
      }
      const now = new Date();
      await insertRow(db, migration, { startedAt: now, finishedAt: now, logs: "", appliedStepsCount: 0 });
    },
  };
}
