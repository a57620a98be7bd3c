import { randomBytes } from "node:crypto";
import pg from "pg";

/** The server the tests use: `POLYMIGRATE_TEST_ADMIN_URL`, else the local server on 127.0.0.1:5432 as `postgres`. */
export const ADMIN_URL = process.env.POLYMIGRATE_TEST_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/** A database made for one test. */
export interface TestDatabase {
  name: string;
  /** Its URL, with no password. */
  url: string;
  /** Its URL with `password` set: the server trusts local connections, so any password works and can be hunted for. */
  urlWithPassword(password: string): string;
  /** Runs SQL on it and returns the rows. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>;
  /** Drops it (ending its sessions first). */
  drop(): Promise<void>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh, empty database with a random name. */
export async function createTestDatabase(prefix = "pm_test"): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  return {
    name,
    url: databaseUrl,
    urlWithPassword(password) {
      const withPassword = new URL(databaseUrl);
      withPassword.password = password;
      return withPassword.toString();
    },
    async query(sql, values) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query(sql, values)).rows;
      } finally {
        await client.end();
      }
    },
    async drop() {
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** Lists the tables of a schema (default `public`), sorted: a quick look at the catalog. */
export async function listTables(database: TestDatabase, schema = "public"): Promise<string[]> {
  const rows = await database.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    [schema],
  );
  return rows.map((row) => row.table_name);
}

/** Lists `table`'s columns as `name type`, in order. */
export async function listColumns(database: TestDatabase, table: string, schema = "public"): Promise<string[]> {
  const rows = await database.query<{ column_name: string; data_type: string }>(
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
    [schema, table],
  );
  return rows.map((row) => `${row.column_name} ${row.data_type}`);
}

/** Opens a session of its own on `url` (for a test that holds a lock or a transaction open); close it with `end()`. */
export async function openSession(url: string, applicationName = "polymigrate-test"): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  await client.connect();
  return client;
}
