import type { HistoryStore, HistoryTableName } from "../../model/adapter.js";
import type { HistoryEntry } from "../../model/migration.js";
import type { Queryable } from "../../db/queryable.js";
import { quoteIdent } from "../../db/connect.js";

/** The plain-SQL stack's history table, by default `polymigrate.sql_migrations`. */
export function createSqlHistory(location: HistoryTableName): HistoryStore {
  const table = `${quoteIdent(location.schema)}.${quoteIdent(location.table)}`;
  return {
    location,
    async exists(db: Queryable) {
      const result = await db.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [table]);
      return result.rows[0]?.found != null;
    },
    async ensure(db: Queryable) {
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(location.schema)}`);
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
           id text PRIMARY KEY,
           checksum text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now(),
           duration_ms integer NOT NULL
         )`,
      );
    },
    async read(db: Queryable): Promise<HistoryEntry[]> {
      const result = await db.query<{ id: string; checksum: string; applied_at: Date; duration_ms: number }>(
        `SELECT id, checksum, applied_at, duration_ms FROM ${table} ORDER BY applied_at, id`,
      );
      return result.rows.map((row) => ({
        id: row.id,
        checksum: row.checksum,
        status: "applied",
        appliedAt: row.applied_at,
        durationMs: row.duration_ms,
      }));
    },
    async recordApplied(db, migration, record) {
      await db.query(`INSERT INTO ${table} (id, checksum, applied_at, duration_ms) VALUES ($1, $2, $3, $4)`, [
        migration.id,
        migration.checksum,
        record.finishedAt,
        Math.round(record.durationMs),
      ]);
    },
    async recordRolledBack(db, migration) {
      await db.query(`DELETE FROM ${table} WHERE id = $1`, [migration.id]);
    },
  };
}
