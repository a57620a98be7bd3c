import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type DatabaseSession } from "../db/connect.js";
import { describeCatalogDifference, diffCatalogSnapshots, readCatalogSnapshot } from "./catalog-snapshot.js";
import pg from "pg";

const ADMIN_URL = process.env.POLYMIGRATE_TEST_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const names = [`pm_catalog_${process.pid}_a`, `pm_catalog_${process.pid}_b`];
const sessions: DatabaseSession[] = [];

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

beforeAll(async () => {
  for (const name of names) {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin(`CREATE DATABASE ${name}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    sessions.push(await connect(url.toString()));
  }
});
afterAll(async () => {
  for (const session of sessions) await session.close();
  for (const name of names) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

const SCHEMA = `
  CREATE TYPE mood AS ENUM ('sad', 'ok');
  CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, mood mood DEFAULT 'ok');
  CREATE TABLE posts (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, author int REFERENCES users (id));
  CREATE INDEX posts_author_idx ON posts (author);
  CREATE VIEW active AS SELECT id FROM users WHERE mood = 'ok';
  CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1';
`;

describe("catalog snapshots", () => {
  it("are equal for the same schema built in another order", async () => {
    const [a, b] = sessions as [DatabaseSession, DatabaseSession];
    await a.client.query(SCHEMA);
    await b.client.query(`
      CREATE TYPE mood AS ENUM ('sad', 'ok');
      CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1';
      CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, mood mood DEFAULT 'ok');
      CREATE VIEW active AS SELECT id FROM users WHERE mood = 'ok';
      CREATE TABLE posts (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, author int REFERENCES users (id));
      CREATE INDEX posts_author_idx ON posts (author);
    `);
    expect(diffCatalogSnapshots(await readCatalogSnapshot(a.client), await readCatalogSnapshot(b.client))).toEqual([]);
  });

  it("name each column, index, constraint and enum label that differs", async () => {
    const [a, b] = sessions as [DatabaseSession, DatabaseSession];
    await b.client.query(`
      ALTER TABLE users ADD COLUMN name text;
      ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
      DROP INDEX posts_author_idx;
      ALTER TYPE mood ADD VALUE 'happy';
      ALTER TABLE posts ADD CONSTRAINT posts_id_positive CHECK (id > 0);
    `);
    const lines = diffCatalogSnapshots(await readCatalogSnapshot(a.client), await readCatalogSnapshot(b.client)).map(describeCatalogDifference);
    expect(lines).toEqual([
      'column "public.users.email" altered: text NOT NULL → text NULL',
      'column "public.users.name" added: text NULL',
      'constraint "public.posts.posts_id_positive" added: CHECK (id > 0)',
      'enum "public.mood" altered: sad, ok → sad, ok, happy',
      'index "public.posts_author_idx" removed (was: CREATE INDEX posts_author_idx ON public.posts USING btree (author))',
    ]);
  });
});
