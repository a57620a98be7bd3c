import { quoteIdent, type HistoryEntry, type HistoryStore, type HistoryTableName, type Migration, type Queryable } from "@polymigrate/core";
import { ancestorsOf, type RevisionGraph } from "./alembic-layout.js";

/** Reads the current revision(s) from Alembic's version table (no row: nothing applied). */
export async function readCurrentRevisions(db: Queryable, location: HistoryTableName): Promise<string[]> {
  const table = `${quoteIdent(location.schema)}.${quoteIdent(location.table)}`;
  const result = await db.query<{ version_num: string }>(`SELECT version_num FROM ${table} ORDER BY version_num`);
  return result.rows.map((row) => row.version_num);
}

/**
 * The heads Alembic's `stamp` would leave after marking `id` applied: `id` replaces the current heads it descends
 * from; heads of other branches stay.
 */
export function headsAfterApplying(graph: RevisionGraph, current: string[], id: string): string[] {
  const ancestors = ancestorsOf(graph, [id]);
  const kept = current.filter((head) => !ancestors.has(head));
  return [...kept, id].sort();
}

/**
 * The heads Alembic's `stamp` would leave after marking `id` rolled back: `id` and its descendants leave; its down
 * revisions become heads unless another remaining head already descends from them.
 */
export function headsAfterRollingBack(graph: RevisionGraph, current: string[], id: string): string[] {
  const kept = current.filter((head) => !ancestorsOf(graph, [head]).has(id));
  const covered = ancestorsOf(graph, kept);
  const parents = graph.byId.get(id)?.downRevisions ?? [];
  return [...kept, ...parents.filter((parent) => !covered.has(parent))].sort();
}

/**
 * Alembic's version table, `alembic_version(version_num)`: it holds the current head(s), not a list of applied
 * revisions. `read` translates it into the core's terms: every ancestor of a current revision is applied. Writing
 * does what `alembic stamp` does: it rewrites the heads.
 */
export function createAlembicHistory(location: HistoryTableName, readGraph: () => RevisionGraph): HistoryStore {
  const table = `${quoteIdent(location.schema)}.${quoteIdent(location.table)}`;
  const writeHeads = async (db: Queryable, heads: string[]) => {
    await db.query(`DELETE FROM ${table}`);
    for (const head of heads) await db.query(`INSERT INTO ${table} (version_num) VALUES ($1)`, [head]);
  };
  const store: HistoryStore = {
    location,
    async exists(db) {
      const result = await db.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [table]);
      return result.rows[0]?.found != null;
    },
    async ensure(db) {
      // The table exactly as Alembic 1.8 creates it (MigrationContext._version).
      if (location.schema !== "public") await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(location.schema)}`);
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
           version_num VARCHAR(32) NOT NULL,
           CONSTRAINT ${quoteIdent(`${location.table}_pkc`)} PRIMARY KEY (version_num)
         )`,
      );
    },
    async read(db): Promise<HistoryEntry[]> {
      const current = await readCurrentRevisions(db, location);
      if (current.length === 0) return [];
      const graph = readGraph();
      const applied = ancestorsOf(graph, current);
      const entries: HistoryEntry[] = graph.revisions
        .filter((revision) => applied.has(revision.revision))
        .map((revision) => ({ id: revision.revision, status: "applied" }));
      // A current revision with no file: the core reports it as missing.
      for (const id of current) if (!graph.byId.has(id)) entries.push({ id, status: "applied" });
      return entries;
    },
    async recordApplied(db, migration: Migration) {
      await writeHeads(db, headsAfterApplying(readGraph(), await readCurrentRevisions(db, location), migration.id));
    },
    async recordRolledBack(db, migration: Migration) {
      await writeHeads(db, headsAfterRollingBack(readGraph(), await readCurrentRevisions(db, location), migration.id));
    },
    async markResolved(db, migration, as) {
      if (as === "applied") await store.recordApplied(db, migration, { startedAt: new Date(), finishedAt: new Date(), durationMs: 0, statementsApplied: 0 });
      else await store.recordRolledBack(db, migration);
    },
  };
  return store;
}
