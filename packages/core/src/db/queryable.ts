/** The smallest query surface the core and the adapters need: a `pg` Client satisfies it. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Runs `work` in one transaction on `db`: committed when it returns, rolled back (and the error rethrown) when it throws. */
export async function inTransaction<T>(db: Queryable, work: () => Promise<T>): Promise<T> {
  await db.query("BEGIN");
  try {
    const result = await work();
    await db.query("COMMIT");
    return result;
  } catch (error) {
    await db.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/**
 * Creates Polymigrate's own bookkeeping tables in schema `schema` when missing: `work` runs in one transaction that
 * first takes a transaction-level advisory lock named `lockName`, so that two first runs do not race on the DDL.
 */
export async function ensureOwnTables(db: Queryable, lockName: string, schema: string, work: () => Promise<void>): Promise<void> {
  await inTransaction(db, async () => {
    await db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [lockName]);
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await work();
  });
}
