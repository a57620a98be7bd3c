import { join } from "node:path";
import { BOOKKEEPING_SCHEMAS, HISTORY_TABLES, readCatalogSnapshot, type SnapshotOptions } from "../catalog/catalog-snapshot.js";
import { quoteIdent, type DatabaseSession } from "../db/connect.js";
import type { HistoryTableName, StackName } from "../model/adapter.js";
import type { Migration } from "../model/migration.js";
import { runPgTool } from "./pg-tools.js";
import {
  createSnapshotFolder,
  describeSnapshotDatabase,
  writeSnapshotManifest,
  type SnapshotManifest,
  type SnapshotMode,
} from "./snapshot-manifest.js";
import { findTouchedRelations } from "./touched-tables.js";

/** Options of {@link takeSnapshot}. */
export interface TakeSnapshotOptions {
  /** The direct URL; it reaches pg_dump through its environment only. */
  url: string;
  project: string;
  stack: StackName;
  /** The snapshots folder (`<configuration folder>/.polymigrate/snapshots`). */
  snapshotsDir: string;
  historyTable: HistoryTableName;
  /** The ids applied now, oldest first. */
  applied: string[];
  /** What the run is about to apply. */
  pending: Migration[];
  /** `--snapshot-data`: save the data of the tables the run touches. */
  includeData: boolean;
}

/** What the catalog comparisons of snapshots leave out: bookkeeping schemas and every history table. */
export function snapshotCatalogOptions(historyTable: HistoryTableName): SnapshotOptions {
  return {
    excludeSchemas: BOOKKEEPING_SCHEMAS,
    excludeTables: [...HISTORY_TABLES, `${historyTable.schema}.${historyTable.table}`],
  };
}

/** `"schema"."table"`, as a pg_dump pattern that matches that table only. */
export function tablePattern(name: string): string {
  const [schema = "", ...rest] = name.split(".");
  return `${quoteIdent(schema)}.${quoteIdent(rest.join("."))}`;
}

/**
 * Saves what a run may change, with the real pg_dump, before it applies anything: the whole schema, and the data of
 * the tables the pending migrations touch (with `includeData`, or whenever they destroy data), or of every table when
 * the SQL cannot say. Writes `manifest.json` beside the dumps and returns it.
 */
export async function takeSnapshot(session: DatabaseSession, options: TakeSnapshotOptions): Promise<SnapshotManifest & { folder: string }> {
  const touched = await findTouchedRelations(options.pending);
  const catalogOptions = snapshotCatalogOptions(options.historyTable);
  const catalog = await readCatalogSnapshot(session.client, catalogOptions);
  let mode: SnapshotMode;
  let reason: string;
  if (touched.cannotTell) {
    mode = "all";
    reason = `every table's data: ${touched.cannotTell}`;
  } else if (options.includeData) {
    mode = "tables";
    reason = "the data of the tables the pending migrations touch (--snapshot-data)";
  } else if (touched.destroysData) {
    mode = "tables";
    reason = "the data of the tables the pending migrations touch: they drop or rewrite data, which a schema alone cannot bring back";
  } else {
    mode = "schema";
    reason = "the schema only: the pending migrations destroy no data";
  }

  const excluded = new Set(catalogOptions.excludeTables);
  let tables: string[] = [];
  if (mode === "all") {
    const result = await session.client.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_%'
          AND NOT (n.nspname = ANY($1::text[])) ORDER BY 1`,
      [catalogOptions.excludeSchemas],
    );
    tables = result.rows.map((row) => row.name);
  } else if (mode === "tables" && touched.relations.length > 0) {
    // Names resolve as the migrations would (search_path); an index resolves to its table; what does not exist yet
    // is created by the run, and the restore drops it.
    const parts = touched.relations.map((name) => {
      const dot = name.indexOf(".");
      return dot === -1 ? quoteIdent(name) : `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}`;
    });
    const result = await session.client.query<{ name: string }>(
      `SELECT DISTINCT n.nspname || '.' || t.relname AS name
         FROM unnest($1::text[]) AS r(name)
         JOIN pg_class c ON c.oid = to_regclass(r.name)
         LEFT JOIN pg_index i ON i.indexrelid = c.oid
         JOIN pg_class t ON t.oid = coalesce(i.indrelid, c.oid)
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE t.relkind IN ('r', 'p') ORDER BY 1`,
      [parts],
    );
    tables = result.rows.map((row) => row.name);
  }
  tables = tables.filter((name) => !excluded.has(name) && !catalogOptions.excludeSchemas!.includes(name.split(".")[0]!));

  const counted: SnapshotManifest["tables"] = [];
  for (const name of tables) {
    const result = await session.client.query<{ count: string }>(`SELECT count(*) AS count FROM ${tablePattern(name)}`);
    counted.push({ name, rows: Number(result.rows[0]?.count ?? 0) });
  }

  const { id, folder } = createSnapshotFolder(options.snapshotsDir, options.project);
  const files: SnapshotManifest["files"] = { schema: "schema.dump" };
  await runPgTool("pg_dump", ["--no-password", "--format=custom", "--schema-only", "--file", join(folder, files.schema)], { url: options.url });
  if (mode !== "schema" && tables.length > 0) {
    files.data = "data.dump";
    // INSERTs, not COPY: the restore runs the data as SQL in its own transaction, with the schema and the history.
    await runPgTool(
      "pg_dump",
      [
        "--no-password",
        "--format=custom",
        "--data-only",
        "--inserts",
        "--rows-per-insert=1000",
        "--file",
        join(folder, files.data),
        ...tables.flatMap((name) => ["--table", tablePattern(name)]),
      ],
      { url: options.url },
    );
  }
  const manifest: SnapshotManifest = {
    version: 1,
    id,
    project: options.project,
    stack: options.stack,
    database: describeSnapshotDatabase(options.url),
    createdAt: new Date().toISOString(),
    mode,
    reason,
    applied: options.applied,
    pending: options.pending.map((migration) => migration.id),
    tables: counted,
    files,
    catalog,
  };
  writeSnapshotManifest(folder, manifest);
  return { ...manifest, folder };
}
