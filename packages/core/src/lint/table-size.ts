import { quoteIdent, type DatabaseSession } from "../db/connect.js";
import type { HazardThreshold, TableHazard } from "./lint-finding.js";
import { formatTable, type TableName } from "./sql-facts.js";

/**
 * The default size from which a lock or rewrite hazard blocks `up`: more than 10,000 rows, or more than 10 MiB with
 * its indexes and TOAST. Below it every one of these statements holds its lock for milliseconds (a plain CREATE INDEX
 * on 10,000 rows takes about 10 ms), shorter than the runner's lock_timeout and any request timeout; lookup and seed
 * tables stay under it, a table that real traffic fills passes it within days.
 */
export const DEFAULT_HAZARD_THRESHOLD: Readonly<HazardThreshold> = { rows: 10_000, bytes: 10 * 1024 * 1024 };

/** What the catalog says about a table the pending statements lock or rewrite. */
export interface TableSize {
  /** The table as the catalog names it (`public.users`). */
  table: string;
  /** About how many rows it has; `undefined` when it has pages but was never analyzed (`reltuples` is -1). */
  rows?: number;
  /** `pg_total_relation_size`: the table with its indexes and TOAST. */
  bytes: number;
}

/** A relation a statement names: a table, or an index (then its table is measured). */
export interface RelationReference {
  relation: TableName;
  kind: "table" | "index";
}

/** The key of a reference in {@link measureTables}' result. */
export function referenceKey(reference: RelationReference): string {
  return `${reference.kind}:${formatTable(reference.relation)}`;
}

// Rows are estimated as the planner does (reltuples per page, times the pages the table has now), so statistics from
// before a bulk load still give about the right count. A partitioned table counts its leaf partitions.
const MEASURE_SQL = `
WITH named AS (
  SELECT key, to_regclass(name) AS oid FROM unnest($1::text[], $2::text[]) AS r(key, name)
), target AS (
  SELECT named.key, coalesce(i.indrelid, named.oid) AS oid FROM named LEFT JOIN pg_index i ON i.indexrelid = named.oid
)
SELECT target.key, n.nspname || '.' || c.relname AS name, size.rows, size.bytes
  FROM target
  JOIN pg_class c ON c.oid = target.oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL (
    SELECT CASE WHEN bool_and(leaf.rows IS NOT NULL) THEN sum(leaf.rows) END::float8 AS rows, sum(leaf.bytes)::float8 AS bytes
      FROM (
        SELECT CASE
                 WHEN pg_relation_size(p.oid) = 0 THEN 0
                 WHEN p.reltuples >= 0 AND p.relpages > 0 THEN p.reltuples / p.relpages * (pg_relation_size(p.oid) / current_setting('block_size')::float8)
               END AS rows,
               pg_total_relation_size(p.oid) AS bytes
          FROM pg_class p
         WHERE (c.relkind <> 'p' AND p.oid = c.oid)
            OR (c.relkind = 'p' AND p.oid IN (SELECT relid FROM pg_partition_tree(c.oid) WHERE isleaf))
      ) AS leaf
  ) AS size`;

/**
 * Measures the tables the statements name, in one catalog query: each reference's table (an index's table) with its
 * estimated rows and bytes. A name missing from the result does not exist on the server (on its search_path). Fails
 * when a table's lock cannot be had within a second.
 */
export async function measureTables(session: DatabaseSession, references: RelationReference[]): Promise<Map<string, TableSize>> {
  const keys = [...new Map(references.map((reference) => [referenceKey(reference), reference])).entries()];
  const sizes = new Map<string, TableSize>();
  if (keys.length === 0) return sizes;
  const names = keys.map(([, { relation }]) => (relation.schema ? `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}` : quoteIdent(relation.name)));
  await session.client.query("BEGIN");
  let rows: { key: string; name: string; rows: number | null; bytes: number | null }[];
  try {
    // pg_relation_size takes a share lock on each table: never wait long behind a session holding a stronger one.
    await session.client.query("SET LOCAL lock_timeout = '1s'");
    rows = (await session.client.query<(typeof rows)[number]>(MEASURE_SQL, [keys.map(([key]) => key), names])).rows;
    await session.client.query("COMMIT");
  } catch (error) {
    await session.client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  for (const row of rows) {
    sizes.set(row.key, { table: row.name, ...(row.rows === null ? {} : { rows: Math.round(Number(row.rows)) }), bytes: Number(row.bytes ?? 0) });
  }
  return sizes;
}

/** `12`, `8.4k`, `200k`, `2.3M`, `1.1B`: a row count as a person reads it. */
export function formatCount(count: number): string {
  const scaled = (value: number, unit: string) => `${value < 10 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)}${unit}`;
  if (count < 1000) return String(count);
  if (count < 1_000_000) return scaled(count / 1000, "k");
  if (count < 1_000_000_000) return scaled(count / 1_000_000, "M");
  return scaled(count / 1_000_000_000, "B");
}

/** `16 kB`, `7.1 MB`, `2.4 GB` (powers of 1024, as `pg_size_pretty` writes them). */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value < 10 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)} ${units[unit]}`;
}

// What each rule's statement does to a table that is big enough to matter.
const HAZARD_EFFECTS: Record<string, string> = {
  "require-concurrent-index-creation": "a plain CREATE INDEX blocks its writes for the whole build",
  "require-concurrent-index-deletion": "a plain DROP INDEX takes an ACCESS EXCLUSIVE lock on it, which waits behind its running queries and blocks every query queued after it",
  "adding-field-with-default": "adding a column with a volatile default rewrites it under an ACCESS EXCLUSIVE lock",
  "adding-serial-primary-key-field": "adding a primary key builds its index under an ACCESS EXCLUSIVE lock that blocks reads and writes",
  "changing-column-type": "changing a column's type rewrites it and its indexes under an ACCESS EXCLUSIVE lock",
  "constraint-missing-not-valid": "a constraint without NOT VALID scans every row while its writes are blocked",
  "adding-foreign-key-constraint": "a foreign key without NOT VALID scans every row while writes to it and to the referenced table are blocked",
  "adding-not-nullable-field": "SET NOT NULL scans every row under an ACCESS EXCLUSIVE lock",
  "disallowed-unique-constraint": "a UNIQUE constraint builds its index under an ACCESS EXCLUSIVE lock",
};

/**
 * The Squawk rules whose findings are judged on the live database by the size of their table: statements that hold a
 * lock blocking reads or writes while they scan, build or rewrite.
 */
export const SIZE_HAZARD_RULES: ReadonlySet<string> = new Set(Object.keys(HAZARD_EFFECTS));

/** The Squawk rules whose statements fail on a table with any row: judged harmless only on a table with none. */
export const ROWS_HAZARD_RULES: ReadonlySet<string> = new Set(["adding-required-field"]);

function isAbove(size: TableSize, threshold: HazardThreshold): boolean {
  return (size.rows !== undefined && size.rows > threshold.rows) || size.bytes > threshold.bytes;
}

function describeSize(size: TableSize): string {
  return size.rows === undefined
    ? `table "${size.table}" was never analyzed and takes ${formatBytes(size.bytes)}`
    : size.rows === 0
      ? `table "${size.table}" has no rows (${formatBytes(size.bytes)})`
      : `table "${size.table}" has about ${formatCount(size.rows)} rows (${formatBytes(size.bytes)})`;
}

/** The verdict on a lock or rewrite hazard of `rule` on a table of `size`: whether it blocks, and the sentence why. */
export function judgeTableSize(rule: string, size: TableSize, threshold: HazardThreshold): { isHazard: boolean; reason: string; hazard: TableHazard } {
  const measured = { table: size.table, ...(size.rows === undefined ? {} : { rows: size.rows }), bytes: size.bytes };
  if (isAbove(size, threshold)) {
    return { isHazard: true, reason: `${describeSize(size)}: ${HAZARD_EFFECTS[rule] ?? "this statement locks it while it works"}`, hazard: { ...measured, judgement: "large-table" } };
  }
  const limit = size.rows === undefined ? formatBytes(threshold.bytes) : `${threshold.rows} rows, ${formatBytes(threshold.bytes)}`;
  return { isHazard: false, reason: `${describeSize(size)}: below the hazard threshold (${limit})`, hazard: { ...measured, judgement: "small-table" } };
}
