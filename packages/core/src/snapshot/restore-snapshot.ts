import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeCatalogDifference, diffCatalogSnapshots, readCatalogSnapshot, type CatalogDifference } from "../catalog/catalog-snapshot.js";
import { quoteIdent, type DatabaseSession } from "../db/connect.js";
import type { HistoryStore } from "../model/adapter.js";
import { MigrateError } from "../model/errors.js";
import type { Migration } from "../model/migration.js";
import { runPgTool } from "./pg-tools.js";
import type { SnapshotManifest } from "./snapshot-manifest.js";
import { snapshotCatalogOptions } from "./take-snapshot.js";

/** Options of {@link restoreSnapshot}. */
export interface RestoreSnapshotOptions {
  manifest: SnapshotManifest;
  /** The snapshot's folder (the dumps beside the manifest). */
  folder: string;
  history: HistoryStore;
  /** The migrations applied after the snapshot, newest first: their history rows are rolled back. */
  rollBack: Migration[];
}

/** One entry of a pg_restore table of contents (`pg_restore --list`). */
interface TocEntry {
  line: string;
  desc: string;
  schema: string;
  tag: string;
}

// The descriptions pg_restore lists, longest first so that "FK CONSTRAINT" is not read as "CONSTRAINT".
const DESCRIPTIONS = [
  "MATERIALIZED VIEW DATA",
  "MATERIALIZED VIEW",
  "SEQUENCE OWNED BY",
  "SEQUENCE SET",
  "FK CONSTRAINT",
  "TABLE DATA",
  "CONSTRAINT",
  "PROCEDURE",
  "FUNCTION",
  "SEQUENCE",
  "DEFAULT",
  "ROW SECURITY",
  "EXTENSION",
  "TRIGGER",
  "POLICY",
  "COMMENT",
  "SCHEMA",
  "DOMAIN",
  "TABLE",
  "INDEX",
  "VIEW",
  "TYPE",
  "ACL",
];
const TOC_LINE = new RegExp(`^\\d+; \\d+ \\d+ (${DESCRIPTIONS.join("|")}) (\\S+) (.+) (\\S+)$`);

async function readToc(archive: string): Promise<TocEntry[]> {
  const listing = await runPgTool("pg_restore", ["--list", archive]);
  const entries: TocEntry[] = [];
  for (const line of listing.split("\n")) {
    const match = TOC_LINE.exec(line.trim());
    if (match) entries.push({ line: line.trim(), desc: match[1]!, schema: match[2]!, tag: match[3]! });
  }
  return entries;
}

const qualified = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;

// `schema.table.detail` keys of the catalog snapshot; the first dot separates the schema, the second the table.
function splitKey(name: string): [string, string, string] {
  const [schema = "", table = "", ...rest] = name.split(".");
  return [schema, table, rest.join(".")];
}

/** The statement that drops an object a run created (or altered beyond repair), or `undefined` to leave it. */
function dropStatement(difference: CatalogDifference): string | undefined {
  const [schema, table, detail] = splitKey(difference.name);
  switch (difference.kind) {
    case "view":
      return `DROP VIEW IF EXISTS ${qualified(schema, table)} CASCADE`;
    case "materialized-view":
      return `DROP MATERIALIZED VIEW IF EXISTS ${qualified(schema, table)} CASCADE`;
    case "table":
      return `DROP TABLE IF EXISTS ${qualified(schema, table)} CASCADE`;
    case "foreign-table":
      return `DROP FOREIGN TABLE IF EXISTS ${qualified(schema, table)} CASCADE`;
    case "sequence":
      return `DROP SEQUENCE IF EXISTS ${qualified(schema, table)} CASCADE`;
    case "function": {
      const dot = difference.name.indexOf(".");
      const signature = difference.name.slice(dot + 1);
      const open = signature.indexOf("(");
      return `DROP ROUTINE IF EXISTS ${quoteIdent(difference.name.slice(0, dot))}.${quoteIdent(signature.slice(0, open))}${signature.slice(open)} CASCADE`;
    }
    case "constraint":
      return `ALTER TABLE IF EXISTS ${qualified(schema, table)} DROP CONSTRAINT IF EXISTS ${quoteIdent(detail)} CASCADE`;
    case "index":
      return `DROP INDEX IF EXISTS ${qualified(schema, table)} CASCADE`;
    case "column":
      return `ALTER TABLE IF EXISTS ${qualified(schema, table)} DROP COLUMN IF EXISTS ${quoteIdent(detail)} CASCADE`;
    case "trigger":
      return `DROP TRIGGER IF EXISTS ${quoteIdent(detail)} ON ${qualified(schema, table)}`;
    case "policy":
      return `DROP POLICY IF EXISTS ${quoteIdent(detail)} ON ${qualified(schema, table)}`;
    case "extension":
      return `DROP EXTENSION IF EXISTS ${quoteIdent(difference.name)} CASCADE`;
    case "enum":
      return `DROP TYPE IF EXISTS ${qualified(schema, table)} CASCADE`;
    case "schema":
      return `DROP SCHEMA IF EXISTS ${quoteIdent(difference.name)} CASCADE`;
    default:
      return undefined;
  }
}

const DROP_ORDER = ["view", "materialized-view", "trigger", "policy", "table", "foreign-table", "sequence", "function", "constraint", "index", "column", "enum", "extension", "schema"];
// Objects whose new definition cannot be altered back in place: dropped, then recreated from the schema dump.
const REBUILT_WHEN_ALTERED = ["view", "materialized-view", "function", "trigger", "policy"];

// pg_restore's SQL output, as statements a client can send: psql's meta-commands (\restrict) are psql's, not SQL.
function sqlOf(script: string): string {
  return script
    .split("\n")
    .filter((line) => !line.startsWith("\\"))
    .join("\n");
}

/**
 * Brings the database back to a snapshot, in one transaction on `session`: drops what the run created (by comparing
 * the catalog with the one saved at snapshot time), drops the saved tables, recreates from the schema dump every
 * object now missing (tables, their defaults, sequences, constraints, indexes, triggers, the foreign keys pointing at
 * them, views), reloads the saved data, checks that the catalog equals the saved one, and rolls back the history rows
 * of the migrations applied since. Anything else (a catalog that still differs) rolls it all back and throws.
 */
export async function restoreSnapshot(session: DatabaseSession, options: RestoreSnapshotOptions): Promise<{ tables: string[] }> {
  const { manifest, folder } = options;
  const db = session.client;
  const catalogOptions = snapshotCatalogOptions(options.history.location);
  const saved = new Set(manifest.tables.map((table) => table.name));
  const schemaArchive = join(folder, manifest.files.schema);
  const schemaToc = await readToc(schemaArchive);
  const dataToc = manifest.files.data ? await readToc(join(folder, manifest.files.data)) : [];
  const work = mkdtempSync(join(tmpdir(), "polymigrate-restore-"));
  await db.query("BEGIN");
  try {
    const current = await readCatalogSnapshot(db, catalogOptions);
    const differences = diffCatalogSnapshots(manifest.catalog, current);
    const drops: string[] = [];
    if (manifest.mode !== "schema") {
      for (const name of saved) drops.push(`DROP TABLE IF EXISTS ${qualified(...(splitKey(name).slice(0, 2) as [string, string]))} CASCADE`);
    }
    for (const kind of DROP_ORDER) {
      for (const difference of differences) {
        if (difference.kind !== kind) continue;
        const rebuild = difference.change === "added" || (difference.change === "altered" && REBUILT_WHEN_ALTERED.includes(kind));
        const statement = rebuild ? dropStatement(difference) : undefined;
        if (statement) drops.push(statement);
      }
    }
    for (const statement of drops) await db.query(statement);

    // What to recreate: every entry of the schema dump whose object is missing now.
    const restoredTables = new Set<string>();
    const restoredSequences = new Set<string>();
    const chosen: TocEntry[] = [];
    const exists = async (sql: string, values: unknown[]) => (await db.query<{ found: boolean }>(`SELECT (${sql}) AS found`, values)).rows[0]?.found === true;
    for (const entry of schemaToc) {
      const { desc, schema, tag } = entry;
      const [table = "", name = ""] = tag.split(" ");
      let include = false;
      switch (desc) {
        case "SCHEMA":
          include = !(await exists("to_regnamespace($1) IS NOT NULL", [quoteIdent(tag)]));
          break;
        case "TABLE":
        case "VIEW":
        case "MATERIALIZED VIEW":
        case "SEQUENCE":
        case "INDEX":
          include = !(await exists("to_regclass($1) IS NOT NULL", [qualified(schema, tag)]));
          if (include && desc === "TABLE") restoredTables.add(`${schema}.${tag}`);
          if (include && desc === "SEQUENCE") restoredSequences.add(`${schema}.${tag}`);
          break;
        case "TYPE":
        case "DOMAIN":
          include = !(await exists("to_regtype($1) IS NOT NULL", [qualified(schema, tag)]));
          break;
        case "FUNCTION":
        case "PROCEDURE":
          include = !(await exists("to_regprocedure($1) IS NOT NULL", [`${quoteIdent(schema)}.${tag}`]));
          break;
        case "CONSTRAINT":
        case "FK CONSTRAINT":
          include = !(await exists("EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)", [qualified(schema, table), name]));
          break;
        case "EXTENSION":
          include = !(await exists("EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1)", [tag]));
          break;
        case "POLICY":
          include = !(await exists("EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = to_regclass($1) AND polname = $2)", [qualified(schema, table), name]));
          break;
        case "ROW SECURITY":
          include = restoredTables.has(`${schema}.${tag}`);
          break;
        case "TRIGGER":
          include = !(await exists("EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2)", [qualified(schema, table), name]));
          break;
        case "DEFAULT":
          include = restoredTables.has(`${schema}.${table}`);
          break;
        case "COMMENT":
        case "ACL": {
          // The comments and grants of a recreated table or sequence, and of its columns.
          const [kind = "", object = ""] = tag.split(" ");
          const owner = kind === "COLUMN" ? object.split(".")[0]! : object;
          include = (kind === "TABLE" || kind === "COLUMN" || kind === "SEQUENCE") && (restoredTables.has(`${schema}.${owner}`) || restoredSequences.has(`${schema}.${owner}`));
          break;
        }
        case "SEQUENCE OWNED BY":
        case "MATERIALIZED VIEW DATA":
          include = restoredSequences.has(`${schema}.${tag}`) || chosen.some((other) => other.desc === "MATERIALIZED VIEW" && other.schema === schema && other.tag === tag);
          break;
      }
      if (include) chosen.push(entry);
    }
    const missingData = [...restoredTables].filter((name) => !saved.has(name) && !catalogOptions.excludeTables!.includes(name));
    if (missingData.length > 0) {
      throw new MigrateError(
        "ROLLBACK_UNAVAILABLE",
        `Snapshot "${manifest.id}" holds no data of ${missingData.map((name) => `"${name}"`).join(", ")}, which the database no longer has: restoring it would bring back empty tables. Restore them by hand (point-in-time recovery), or use a snapshot taken with --snapshot-data. Nothing was changed.`,
        { details: { snapshot: manifest.id, tables: missingData } },
      );
    }
    const schemaList = join(work, "schema.list");
    writeFileSync(schemaList, `${chosen.map((entry) => entry.line).join("\n")}\n`);
    const pre = await runPgTool("pg_restore", ["--section=pre-data", "--use-list", schemaList, "--file", "-", schemaArchive]);
    await db.query(sqlOf(pre));
    const data = dataToc.filter(
      (entry) =>
        (entry.desc === "TABLE DATA" && restoredTables.has(`${entry.schema}.${entry.tag}`)) ||
        (entry.desc === "SEQUENCE SET" && restoredSequences.has(`${entry.schema}.${entry.tag}`)),
    );
    if (data.length > 0) {
      const dataList = join(work, "data.list");
      writeFileSync(dataList, `${data.map((entry) => entry.line).join("\n")}\n`);
      await db.query(sqlOf(await runPgTool("pg_restore", ["--use-list", dataList, "--file", "-", join(folder, manifest.files.data!)])));
    }
    const post = await runPgTool("pg_restore", ["--section=post-data", "--use-list", schemaList, "--file", "-", schemaArchive]);
    await db.query(sqlOf(post));
    // pg_restore's script set search_path and timeouts for the session; the history rows need the defaults back.
    await db.query("RESET ALL");

    const remaining = diffCatalogSnapshots(manifest.catalog, await readCatalogSnapshot(db, catalogOptions));
    if (remaining.length > 0) {
      throw new MigrateError(
        "MIGRATION_FAILED",
        `Restoring snapshot "${manifest.id}" would leave the schema different from the snapshot:\n${remaining.map((difference) => `  ${describeCatalogDifference(difference)}`).join("\n")}\nNothing was changed (the restore was rolled back). Undo those changes by hand, then run it again.`,
        { details: { snapshot: manifest.id, differences: remaining.map(describeCatalogDifference) } },
      );
    }
    for (const migration of options.rollBack) await options.history.recordRolledBack(db, migration);
    await db.query("COMMIT");
    return { tables: [...restoredTables].sort() };
  } catch (error) {
    await db.query("ROLLBACK").catch(() => {});
    await db.query("RESET ALL").catch(() => {});
    throw error;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
