import type { Queryable } from "../db/queryable.js";

/** What the catalog says of the objects a migration can change, keyed by a stable name. */
export interface CatalogSnapshot {
  /** `kind:schema.name[.detail]` → a definition that changes when the object changes. */
  objects: Record<string, string>;
}

/** Which schemas and tables a snapshot leaves out (history tables are bookkeeping, not schema). */
export interface SnapshotOptions {
  /** Schemas to leave out, besides PostgreSQL's own. */
  excludeSchemas?: string[];
  /** Tables to leave out, as `schema.table`. */
  excludeTables?: string[];
}

/** Every history table the stacks keep, left out of snapshots by default. */
export const HISTORY_TABLES = ["public._prisma_migrations", "public.alembic_version"];
/** The schemas of bookkeeping (Polymigrate's own, Drizzle's default), left out of snapshots by default. */
export const BOOKKEEPING_SCHEMAS = ["polymigrate", "drizzle"];

const SYSTEM_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'";

/**
 * Reads the catalog into a comparable snapshot: tables, columns (type, default, nullability), constraints, indexes,
 * enum types with their labels, sequences, views, functions, triggers, row-level security policies and extensions. Two databases with the same schema give equal
 * snapshots whatever order things were created in; OIDs and generated names of no consequence are left out.
 */
export async function readCatalogSnapshot(db: Queryable, options: SnapshotOptions = {}): Promise<CatalogSnapshot> {
  const excludeSchemas = options.excludeSchemas ?? BOOKKEEPING_SCHEMAS;
  const excludeTables = new Set(options.excludeTables ?? HISTORY_TABLES);
  const objects: Record<string, string> = {};
  const keep = (schema: string, table?: string) =>
    !excludeSchemas.includes(schema) && (table === undefined || !excludeTables.has(`${schema}.${table}`));

  const relations = await db.query<{ schema: string; name: string; kind: string; definition: string | null }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind,
            CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${SYSTEM_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')`,
  );
  const kinds: Record<string, string> = { r: "table", p: "table", v: "view", m: "materialized-view", S: "sequence", f: "foreign-table" };
  for (const row of relations.rows) {
    if (!keep(row.schema, row.name)) continue;
    objects[`${kinds[row.kind] ?? row.kind}:${row.schema}.${row.name}`] = row.definition?.trim() ?? "";
  }

  const columns = await db.query<{ schema: string; table: string; name: string; type: string; not_null: boolean; default: string | null; identity: string }>(
    `SELECT n.nspname AS schema, c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE ${SYSTEM_SCHEMAS} AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  for (const row of columns.rows) {
    if (!keep(row.schema, row.table)) continue;
    const parts = [row.type, row.not_null ? "NOT NULL" : "NULL"];
    if (row.default !== null) parts.push(`DEFAULT ${row.default}`);
    if (row.identity) parts.push(`IDENTITY ${row.identity === "a" ? "ALWAYS" : "BY DEFAULT"}`);
    objects[`column:${row.schema}.${row.table}.${row.name}`] = parts.join(" ");
  }

  const constraints = await db.query<{ schema: string; table: string; name: string; definition: string }>(
    `SELECT n.nspname AS schema, c.relname AS "table", k.conname AS name, pg_get_constraintdef(k.oid, true) AS definition
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${SYSTEM_SCHEMAS}`,
  );
  for (const row of constraints.rows) {
    if (keep(row.schema, row.table)) objects[`constraint:${row.schema}.${row.table}.${row.name}`] = row.definition;
  }

  const indexes = await db.query<{ schema: string; table: string; name: string; definition: string; valid: boolean }>(
    `SELECT n.nspname AS schema, t.relname AS "table", c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${SYSTEM_SCHEMAS}`,
  );
  for (const row of indexes.rows) {
    if (keep(row.schema, row.table)) objects[`index:${row.schema}.${row.name}`] = `${row.definition}${row.valid ? "" : " INVALID"}`;
  }

  const enums = await db.query<{ schema: string; name: string; labels: string[] }>(
    `SELECT n.nspname AS schema, t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE ${SYSTEM_SCHEMAS}
      GROUP BY 1, 2`,
  );
  for (const row of enums.rows) if (keep(row.schema)) objects[`enum:${row.schema}.${row.name}`] = row.labels.join(", ");

  const functions = await db.query<{ schema: string; name: string; arguments: string; definition: string }>(
    `SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments,
            md5(pg_get_functiondef(p.oid)) AS definition
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
      WHERE ${SYSTEM_SCHEMAS} AND p.prokind IN ('f', 'p') AND d.objid IS NULL`,
  );
  for (const row of functions.rows) if (keep(row.schema)) objects[`function:${row.schema}.${row.name}(${row.arguments})`] = row.definition;

  const triggers = await db.query<{ schema: string; table: string; name: string; definition: string }>(
    `SELECT n.nspname AS schema, c.relname AS "table", t.tgname AS name, pg_get_triggerdef(t.oid, true) AS definition
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${SYSTEM_SCHEMAS} AND NOT t.tgisinternal`,
  );
  for (const row of triggers.rows) if (keep(row.schema, row.table)) objects[`trigger:${row.schema}.${row.table}.${row.name}`] = row.definition;

  const policies = await db.query<{ schema: string; table: string; name: string; definition: string }>(
    `SELECT schemaname AS schema, tablename AS "table", policyname AS name,
            concat_ws(' ', permissive, cmd, array_to_string(roles, ','), qual, with_check) AS definition
       FROM pg_policies`,
  );
  for (const row of policies.rows) if (keep(row.schema, row.table)) objects[`policy:${row.schema}.${row.table}.${row.name}`] = row.definition;

  const extensions = await db.query<{ name: string; version: string }>("SELECT extname AS name, extversion AS version FROM pg_extension WHERE extname <> 'plpgsql'");
  for (const row of extensions.rows) objects[`extension:${row.name}`] = row.version;

  const schemas = await db.query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_namespace n WHERE ${SYSTEM_SCHEMAS} AND n.nspname <> 'public'`,
  );
  for (const row of schemas.rows) if (keep(row.name)) objects[`schema:${row.name}`] = "";

  return { objects: Object.fromEntries(Object.entries(objects).sort(([a], [b]) => a.localeCompare(b))) };
}

/** One difference between two snapshots. */
export interface CatalogDifference {
  /** `table`, `column`, `constraint`, `index`, `enum`, `sequence`, `view`, `function`, `schema`, ... */
  kind: string;
  name: string;
  change: "added" | "removed" | "altered";
  before?: string;
  after?: string;
}

/** The differences from `before` to `after`, sorted by kind and name. */
export function diffCatalogSnapshots(before: CatalogSnapshot, after: CatalogSnapshot): CatalogDifference[] {
  const differences: CatalogDifference[] = [];
  const keys = new Set([...Object.keys(before.objects), ...Object.keys(after.objects)]);
  for (const key of [...keys].sort()) {
    const [kind = "", ...rest] = key.split(":");
    const name = rest.join(":");
    const was = before.objects[key];
    const now = after.objects[key];
    if (was === now) continue;
    if (was === undefined) differences.push({ kind, name, change: "added", after: now! });
    else if (now === undefined) differences.push({ kind, name, change: "removed", before: was });
    else differences.push({ kind, name, change: "altered", before: was, after: now });
  }
  return differences;
}

/** One line per difference, for people. */
export function describeCatalogDifference(difference: CatalogDifference): string {
  switch (difference.change) {
    case "added":
      return `${difference.kind} "${difference.name}" added${difference.after ? `: ${difference.after}` : ""}`;
    case "removed":
      return `${difference.kind} "${difference.name}" removed${difference.before ? ` (was: ${difference.before})` : ""}`;
    default:
      return `${difference.kind} "${difference.name}" altered: ${difference.before} → ${difference.after}`;
  }
}
