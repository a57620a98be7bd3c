// Database preparation, never timed: fresh databases on the local server, and copies of prepared ones (TEMPLATE).
import pg from "pg";

export const SERVER = { host: process.env.PGHOST ?? "127.0.0.1", port: Number(process.env.PGPORT ?? 5432), user: process.env.PGUSER ?? "postgres" };

/** The URL of a database on the benchmark server (passed to children through their environment only). */
export function urlOf(database) {
  return `postgresql://${encodeURIComponent(SERVER.user)}@${SERVER.host}:${SERVER.port}/${database}`;
}

/** libpq's variables for psql: no URL in the argument list. */
export function psqlEnv(database) {
  return { PGHOST: SERVER.host, PGPORT: String(SERVER.port), PGUSER: SERVER.user, PGDATABASE: database };
}

let admin;
async function adminClient() {
  if (!admin) {
    admin = new pg.Client({ ...SERVER, database: "postgres" });
    await admin.connect();
  }
  return admin;
}

const ident = (name) => `"${name.replaceAll('"', '""')}"`;

export async function dropDatabase(name) {
  const client = await adminClient();
  await client.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
}

/** A new empty database (or a copy of `template`), replacing any database of that name. */
export async function createDatabase(name, template) {
  const client = await adminClient();
  await client.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
  await client.query(`CREATE DATABASE ${ident(name)}${template ? ` TEMPLATE ${ident(template)}` : ""}`);
}

/** Every database this benchmark made (they all start with bench_). */
export async function dropBenchDatabases(prefix) {
  const client = await adminClient();
  const { rows } = await client.query("SELECT datname FROM pg_database WHERE datname LIKE $1", [`${prefix}%`]);
  for (const row of rows) await dropDatabase(row.datname);
}

export async function query(database, sql, params) {
  const client = new pg.Client({ ...SERVER, database });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

export async function serverVersion() {
  const client = await adminClient();
  return (await client.query("SHOW server_version")).rows[0].server_version;
}

export async function closeAdmin() {
  if (admin) await admin.end();
  admin = undefined;
}

export function newClient(database) {
  return new pg.Client({ ...SERVER, database });
}
