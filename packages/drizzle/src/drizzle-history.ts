import { MigrateError, quoteIdent, type HistoryEntry, type HistoryStore, type HistoryTableName, type Migration, type Queryable } from "@polymigrate/core";
import { drizzleMetaOf } from "./drizzle-layout.js";

/** One row of drizzle's history table, as stored. */
export interface DrizzleHistoryRow {
  id: number;
  hash: string;
  /** The journal entry's `when`; `bigint` in the table, so node-postgres returns it as a string. */
  createdAt: number | null;
}

/** A history row matched to a journal entry, or left unmatched. */
export interface MatchedRow {
  row: DrizzleHistoryRow;
  migration?: Migration;
}

/** The id a row that matches no journal entry is reported under (`missing`): its row id and `created_at`. */
export function unmatchedRowId(row: DrizzleHistoryRow): string {
  return `row-${row.id}@${row.createdAt ?? "null"}`;
}

/**
 * Maps drizzle's rows to the journal's entries: first by `created_at` = the entry's `when` (how drizzle itself
 * relates them), then, for rows left over, by `hash` (a row whose entry's `when` was edited). Each entry matches one
 * row at most.
 */
export function matchRows(rows: DrizzleHistoryRow[], migrations: Migration[]): MatchedRow[] {
  const byWhen = new Map<number, Migration>();
  for (const migration of migrations) {
    const { when } = drizzleMetaOf(migration);
    if (!byWhen.has(when)) byWhen.set(when, migration);
  }
  const taken = new Set<string>();
  const matched: MatchedRow[] = rows.map((row) => {
    const migration = row.createdAt === null ? undefined : byWhen.get(row.createdAt);
    if (!migration || taken.has(migration.id)) return { row };
    taken.add(migration.id);
    return { row, migration };
  });
  for (const entry of matched) {
    if (entry.migration) continue;
    const migration = migrations.find((candidate) => !taken.has(candidate.id) && candidate.checksum === entry.row.hash);
    if (!migration) continue;
    taken.add(migration.id);
    entry.migration = migration;
  }
  return matched;
}

/** Options of {@link createDrizzleHistory}. */
export interface DrizzleHistoryOptions {
  location: HistoryTableName;
  /** The migrations on disk, to relate rows to journal entries. */
  readMigrations: () => Promise<Migration[]>;
}

/** The history table's name, quoted. */
export function qualifiedTable(location: HistoryTableName): string {
  return `${quoteIdent(location.schema)}.${quoteIdent(location.table)}`;
}

/** Reads every row of drizzle's history table, in the order they were inserted. */
export async function readDrizzleRows(db: Queryable, location: HistoryTableName): Promise<DrizzleHistoryRow[]> {
  const result = await db.query<{ id: number; hash: string; created_at: string | number | null }>(
    `SELECT id, hash, created_at FROM ${qualifiedTable(location)} ORDER BY id`,
  );
  return result.rows.map((row) => ({ id: Number(row.id), hash: row.hash, createdAt: row.created_at === null ? null : Number(row.created_at) }));
}

/**
 * Drizzle's history table, `drizzle.__drizzle_migrations (id serial, hash text, created_at bigint)` by default,
 * read and written exactly as drizzle-orm's migrator does: `hash` is the SHA-256 hex of the file, `created_at` the
 * journal entry's `when`. Drizzle has no failed state (its whole run is one transaction) and no applied time.
 */
export function createDrizzleHistory(options: DrizzleHistoryOptions): HistoryStore {
  const { location } = options;
  const table = qualifiedTable(location);
  return {
    location,
    async exists(db) {
      const result = await db.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [table]);
      return result.rows[0]?.found != null;
    },
    // The same two statements as drizzle-orm's pg-core dialect `migrate()`, so that either tool may create the table.
    async ensure(db) {
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(location.schema)}`);
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
				id SERIAL PRIMARY KEY,
				hash text NOT NULL,
				created_at bigint
			)`,
      );
    },
    async read(db): Promise<HistoryEntry[]> {
      const rows = await readDrizzleRows(db, location);
      const matched = matchRows(rows, await options.readMigrations());
      return matched.map(({ row, migration }) => ({
        id: migration ? migration.id : unmatchedRowId(row),
        checksum: row.hash,
        status: "applied",
      }));
    },
    async recordApplied(db, migration) {
      const { when } = drizzleMetaOf(migration);
      // Never a second row for one migration (drizzle's table has no unique key): a run that somehow lost its
      // exclusivity fails here, inside the migration's transaction, instead of applying it twice.
      const result = await db.query(
        `insert into ${table} ("hash", "created_at") select $1::text, $2::bigint where not exists (select 1 from ${table} where "created_at" = $2::bigint and "hash" = $1::text)`,
        [migration.checksum, when],
      );
      if (result.rowCount === 0) {
        throw new MigrateError(
          "HISTORY_INVALID",
          `Migration "${migration.id}" is already recorded in ${table}: another run applied it while this one ran. This run's transaction was rolled back; run "migrate status".`,
          { details: { id: migration.id } },
        );
      }
    },
    async recordRolledBack(db, migration) {
      const rows = await readDrizzleRows(db, location);
      const found = matchRows(rows, [migration]).find((entry) => entry.migration);
      if (found) await db.query(`DELETE FROM ${table} WHERE id = $1`, [found.row.id]);
    },
  };
}
