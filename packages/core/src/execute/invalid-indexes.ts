import type pg from "pg";
import type { EventSink } from "../model/events.js";
import { quoteIdent } from "../db/connect.js";
import { splitStatements } from "../sql/statements.js";

/** An index left INVALID by a `CREATE INDEX CONCURRENTLY` that failed or was killed. */
export interface InvalidIndex {
  schema: string;
  name: string;
  table: string;
}

/** Lists the INVALID indexes of the database (each one is the remains of a failed concurrent build). */
export async function findInvalidIndexes(client: pg.Client): Promise<InvalidIndex[]> {
  const result = await client.query<{ schema: string; name: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, t.relname AS "table"
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid
      ORDER BY 1, 2`,
  );
  return result.rows;
}

/**
 * Before a migration that builds indexes concurrently runs again, drops the INVALID leftovers of an earlier attempt at
 * the same indexes (a failed `CREATE INDEX CONCURRENTLY` leaves one behind, and the retry would fail on its name).
 * Returns what it dropped.
 */
export async function dropInvalidIndexesFor(client: pg.Client, sql: string): Promise<InvalidIndex[]> {
  if (!/concurrently/i.test(sql)) return [];
  const wanted = new Set<string>();
  for (const statement of splitStatements(sql).statements) {
    const node = statement.node as { concurrent?: boolean; idxname?: string; relation?: { schemaname?: string } } | undefined;
    if (statement.kind === "IndexStmt" && node?.concurrent && node.idxname) {
      wanted.add(`${node.relation?.schemaname ?? "*"}.${node.idxname}`);
    }
  }
  if (wanted.size === 0) return [];
  const dropped: InvalidIndex[] = [];
  for (const index of await findInvalidIndexes(client)) {
    if (!wanted.has(`${index.schema}.${index.name}`) && !wanted.has(`*.${index.name}`)) continue;
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(index.schema)}.${quoteIdent(index.name)}`);
    dropped.push(index);
  }
  return dropped;
}

/** Drops the INVALID leftovers of `sql`'s concurrent index builds before migration `id` runs, and says so. */
export async function cleanInvalidIndexesBefore(
  client: pg.Client,
  sql: string,
  context: { project: string; id: string; emit: EventSink },
): Promise<void> {
  for (const index of await dropInvalidIndexesFor(client, sql)) {
    context.emit({
      type: "notice",
      project: context.project,
      level: "warning",
      message: `Dropped the INVALID index "${index.schema}.${index.name}" on "${index.table}", left by an earlier failed attempt of "${context.id}", before building it again.`,
    });
  }
}
