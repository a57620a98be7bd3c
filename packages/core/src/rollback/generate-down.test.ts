import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type DatabaseSession } from "../db/connect.js";
import { describeCatalogDifference, diffCatalogSnapshots, readCatalogSnapshot } from "../catalog/catalog-snapshot.js";
import { runSqlScript } from "../execute/run-sql.js";
import { splitStatements } from "../sql/statements.js";
import { createSqlAdapter } from "../stacks/sql/index.js";
import { readSqlMigrations } from "../stacks/sql/sql-layout.js";
import { draftDownFile, generateDown, isIrreversibleDown, IRREVERSIBLE_DIRECTIVE } from "./generate-down.js";

// @polymigrate/testing depends on this package, so the database helper is written here with pg, as in
// catalog-snapshot.test.ts: a template database holds the base schema and every case gets a fresh copy of it.
const ADMIN_URL = process.env.POLYMIGRATE_TEST_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const PREFIX = `pm_down_${process.pid}`;
const TEMPLATE = `${PREFIX}_base`;
const databases: string[] = [TEMPLATE];
let counter = 0;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

const LONG_TABLE = "a_table_name_long_enough_that_postgres_must_shorten_it_somewhat";

const BASE = `
  CREATE SCHEMA reports;
  CREATE TYPE mood AS ENUM ('sad', 'ok');
  CREATE TABLE users (id int PRIMARY KEY, email text, name text DEFAULT 'anon', age int NOT NULL DEFAULT 0, mood mood);
  CREATE TABLE posts (id int PRIMARY KEY, author int, title text, CONSTRAINT posts_title_check CHECK (title <> ''));
  CREATE INDEX posts_title_idx ON posts (title);
  CREATE TABLE tags (label text NOT NULL);
  CREATE TABLE counters (n int NOT NULL);
  CREATE TABLE bookings (id int, during tsrange);
  CREATE TABLE ${LONG_TABLE} (a_column_name_that_is_also_rather_long_for_an_index int);
  CREATE SEQUENCE invoice_numbers;
  CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;
  CREATE MATERIALIZED VIEW user_counts AS SELECT count(*) AS total FROM users;
  CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
  CREATE TABLE events (id int, kind int) PARTITION BY LIST (kind);
  CREATE TABLE events_one (id int, kind int);
  GRANT SELECT ON adults TO PUBLIC;
  INSERT INTO users VALUES (1, 'ada@example.com', 'Ada', 36, 'ok');
  INSERT INTO posts VALUES (1, 1, 'Hello');
`;

// What the catalog snapshot leaves out but a down must still restore: triggers, row security, extensions, types
// that are not enums (composite, domain, range).
const PROBE = `
  SELECT (SELECT coalesce(string_agg(tgname, ',' ORDER BY tgname), '') FROM pg_trigger WHERE NOT tgisinternal) AS triggers,
         (SELECT string_agg(relname || ':' || relrowsecurity::text || '/' || relforcerowsecurity::text, ',' ORDER BY relname)
            FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace) AS row_security,
         (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension) AS extensions,
         (SELECT coalesce(string_agg(polname, ',' ORDER BY polname), '') FROM pg_policy) AS policies,
         -- Effective privileges: a NULL ACL means the owner's defaults, which a GRANT then REVOKE spells out.
         (SELECT coalesce(string_agg(c.relname || '=' || coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))::text
                                     || '/' || c.relispartition::text, ',' ORDER BY c.relname), '')
            FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')) AS acls,
         (SELECT string_agg(nspname || '=' || coalesce(nspacl, acldefault('n'::"char", nspowner))::text, ',' ORDER BY nspname) FROM pg_namespace) AS schema_acls,
         (SELECT coalesce(string_agg(objoid::regclass::text || '.' || objsubid || '=' || description, ',' ORDER BY 1), '')
            FROM pg_description WHERE classoid = 'pg_class'::regclass) AS comments,
         (SELECT coalesce(string_agg(n.nspname || '.' || t.typname || ':' || t.typtype::text, ',' ORDER BY n.nspname, t.typname), '')
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
             AND (t.typtype IN ('d', 'r', 'm') OR (t.typtype = 'c' AND EXISTS (
                  SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))) AS types`;

beforeAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${TEMPLATE}`);
  const session = await connect(databaseUrl(TEMPLATE));
  await session.client.query(BASE).finally(() => session.close());
});

afterAll(async () => {
  for (const name of databases) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

async function withFreshDatabase<T>(work: (session: DatabaseSession) => Promise<T>): Promise<T> {
  const name = `${PREFIX}_${++counter}`;
  databases.push(name);
  await admin(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  const session = await connect(databaseUrl(name));
  try {
    return await work(session);
  } finally {
    await session.close();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

// Runs SQL the way the core runs a migration: one transaction unless a statement forbids it.
async function runScript(session: DatabaseSession, sql: string, file: string): Promise<void> {
  const result = await runSqlScript(session.client, { sql, file }, { serverVersionNum: session.serverVersionNum });
  if (!result.isSuccess) throw new Error(`${file} failed at line ${result.error?.line}: ${result.error?.message}`);
}

async function readState(session: DatabaseSession) {
  return { catalog: await readCatalogSnapshot(session.client), probe: (await session.client.query(PROBE)).rows[0] };
}

/** Applies the up then its generated down on a fresh copy of the base schema; returns what differs from before. */
async function roundTrip(up: string) {
  const down = await generateDown(up);
  return withFreshDatabase(async (session) => {
    const before = await readState(session);
    await runScript(session, up, "up.sql");
    const afterUp = await readState(session);
    await runScript(session, down.sql, "down.sql");
    const afterDown = await readState(session);
    return {
      down,
      changedByUp: diffCatalogSnapshots(before.catalog, afterUp.catalog).length > 0 || JSON.stringify(before.probe) !== JSON.stringify(afterUp.probe),
      remaining: diffCatalogSnapshots(before.catalog, afterDown.catalog).map(describeCatalogDifference),
      probeBefore: before.probe,
      probeAfter: afterDown.probe,
    };
  });
}

/** Every kind the generator reverses: its label in the steps, an up using it, and whether the up changes the catalog. */
const REVERSIBLE: Array<{ kind: string; up: string; sql?: RegExp; review?: RegExp; isNoOp?: boolean }> = [
  { kind: "CREATE TABLE", up: `CREATE TABLE accounts (id bigserial PRIMARY KEY, owner int REFERENCES users (id), note text NOT NULL DEFAULT '')`, sql: /^DROP TABLE "accounts";$/ },
  { kind: "CREATE TABLE", up: `CREATE TABLE IF NOT EXISTS reports.daily (day date PRIMARY KEY)`, sql: /^DROP TABLE "reports"."daily";$/, review: /IF NOT EXISTS/ },
  { kind: "CREATE TABLE AS", up: `CREATE TABLE user_copy AS SELECT * FROM users`, sql: /^DROP TABLE "user_copy";$/ },
  { kind: "CREATE INDEX", up: `CREATE INDEX users_email_idx ON users (email)`, sql: /^DROP INDEX "users_email_idx";$/ },
  { kind: "CREATE UNIQUE INDEX", up: `CREATE UNIQUE INDEX ON users (email, name)`, sql: /^DROP INDEX "users_email_name_idx";$/, review: /no name/ },
  { kind: "CREATE INDEX", up: `CREATE INDEX ON users (lower(email))`, sql: /^DROP INDEX "users_lower_idx";$/ },
  { kind: "CREATE INDEX", up: `CREATE INDEX ON ${LONG_TABLE} (a_column_name_that_is_also_rather_long_for_an_index)` },
  { kind: "CREATE INDEX CONCURRENTLY", up: `CREATE INDEX CONCURRENTLY users_name_idx ON users (name)`, sql: /^DROP INDEX CONCURRENTLY "users_name_idx";$/, review: /outside/ },
  { kind: "CREATE TYPE AS ENUM", up: `CREATE TYPE reports.status AS ENUM ('draft', 'sent')`, sql: /^DROP TYPE "reports"."status";$/ },
  { kind: "CREATE TYPE AS (composite)", up: `CREATE TYPE address AS (street text, city text)`, sql: /^DROP TYPE "address";$/ },
  { kind: "CREATE TYPE AS RANGE", up: `CREATE TYPE float_range AS RANGE (subtype = float8)`, sql: /^DROP TYPE "float_range";$/ },
  { kind: "CREATE DOMAIN", up: `CREATE DOMAIN positive_int AS int CHECK (VALUE > 0)`, sql: /^DROP DOMAIN "positive_int";$/ },
  { kind: "CREATE SEQUENCE", up: `CREATE SEQUENCE order_numbers START 100`, sql: /^DROP SEQUENCE "order_numbers";$/ },
  { kind: "CREATE VIEW", up: `CREATE VIEW named_users AS SELECT id, name FROM users WHERE name IS NOT NULL`, sql: /^DROP VIEW "named_users";$/ },
  { kind: "CREATE VIEW", up: `CREATE OR REPLACE VIEW sad_users AS SELECT id FROM users WHERE mood = 'sad'`, review: /OR REPLACE/ },
  { kind: "CREATE MATERIALIZED VIEW", up: `CREATE MATERIALIZED VIEW post_counts AS SELECT author, count(*) FROM posts GROUP BY author`, sql: /^DROP MATERIALIZED VIEW "post_counts";$/ },
  {
    kind: "CREATE FUNCTION",
    up: `CREATE FUNCTION reports.add(a int, b varchar(10) DEFAULT 'x', OUT total int, VARIADIC rest numeric[] DEFAULT '{}') LANGUAGE sql AS $$ SELECT a $$`,
    sql: /^DROP FUNCTION "reports"."add"\("pg_catalog"."int4", "pg_catalog"."varchar", VARIADIC "pg_catalog"."numeric"\[\]\);$/,
  },
  { kind: "CREATE FUNCTION", up: `CREATE FUNCTION greet(who users) RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || who.name $$`, sql: /^DROP FUNCTION "greet"\("users"\);$/ },
  { kind: "CREATE PROCEDURE", up: `CREATE PROCEDURE reset_age(IN who int, OUT done boolean) LANGUAGE sql AS $$ SELECT true $$`, sql: /^DROP PROCEDURE "reset_age"\(IN "pg_catalog"."int4", OUT "pg_catalog"."bool"\);$/ },
  { kind: "CREATE TRIGGER", up: `CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()`, sql: /^DROP TRIGGER "users_touch" ON "users";$/ },
  { kind: "CREATE SCHEMA", up: `CREATE SCHEMA audit`, sql: /^DROP SCHEMA "audit";$/ },
  { kind: "CREATE SCHEMA", up: `CREATE SCHEMA archive CREATE TABLE entries (id int) CREATE VIEW recent AS SELECT id FROM entries`, sql: /^DROP SCHEMA "archive" CASCADE;$/ },
  { kind: "CREATE EXTENSION", up: `CREATE EXTENSION IF NOT EXISTS citext`, sql: /^DROP EXTENSION "citext";$/, review: /IF NOT EXISTS/ },
  { kind: "ALTER TABLE ADD COLUMN", up: `ALTER TABLE users ADD COLUMN nickname text NOT NULL DEFAULT '' CHECK (nickname <> 'root')`, sql: /^ALTER TABLE "users" DROP COLUMN "nickname";$/ },
  { kind: "ALTER TABLE ADD COLUMN", up: `ALTER TABLE posts ADD COLUMN IF NOT EXISTS editor int REFERENCES users (id)`, review: /IF NOT EXISTS/ },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE posts ADD CONSTRAINT posts_author_fk FOREIGN KEY (author) REFERENCES users (id)`, sql: /^ALTER TABLE "posts" DROP CONSTRAINT "posts_author_fk";$/ },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE posts ADD FOREIGN KEY (author) REFERENCES users (id) ON DELETE CASCADE`, sql: /DROP CONSTRAINT "posts_author_fkey";$/, review: /no name/ },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE users ADD CHECK (age >= 0)`, sql: /DROP CONSTRAINT "users_age_check";$/ },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE users ADD CHECK (age > 0 OR name IS NULL)`, sql: /DROP CONSTRAINT "users_check";$/ },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE users ADD UNIQUE (email)`, sql: /DROP CONSTRAINT "users_email_key";$/ },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE tags ADD PRIMARY KEY (label)`, sql: /DROP CONSTRAINT "tags_pkey";$/, review: /NOT NULL/ },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE bookings ADD EXCLUDE USING gist (during WITH &&)`, sql: /DROP CONSTRAINT "bookings_during_excl";$/ },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE ${LONG_TABLE} ADD UNIQUE (a_column_name_that_is_also_rather_long_for_an_index)` },
  { kind: "ALTER TABLE ADD CONSTRAINT", up: `ALTER TABLE ${LONG_TABLE} ADD CHECK (a_column_name_that_is_also_rather_long_for_an_index > 0)` },
  { kind: "ALTER TABLE ALTER COLUMN SET NOT NULL", up: `ALTER TABLE users ALTER COLUMN email SET NOT NULL`, sql: /^ALTER TABLE "users" ALTER COLUMN "email" DROP NOT NULL;$/ },
  { kind: "ALTER TABLE ALTER COLUMN DROP NOT NULL", up: `ALTER TABLE users ALTER COLUMN age DROP NOT NULL`, sql: /^ALTER TABLE "users" ALTER COLUMN "age" SET NOT NULL;$/ },
  { kind: "ALTER TABLE ALTER COLUMN SET DEFAULT", up: `ALTER TABLE users ADD COLUMN score int; ALTER TABLE users ALTER COLUMN score SET DEFAULT 5` },
  { kind: "ALTER TABLE ALTER COLUMN DROP DEFAULT", up: `ALTER TABLE users ADD COLUMN level int DEFAULT 1; ALTER TABLE users ALTER COLUMN level DROP DEFAULT` },
  { kind: "ALTER TABLE ALTER COLUMN TYPE", up: `ALTER TABLE users ADD COLUMN rank int; ALTER TABLE users ALTER COLUMN rank TYPE bigint` },
  { kind: "ALTER TABLE ALTER COLUMN ADD IDENTITY", up: `ALTER TABLE counters ALTER COLUMN n ADD GENERATED ALWAYS AS IDENTITY`, sql: /DROP IDENTITY;$/ },
  { kind: "ALTER TABLE ENABLE ROW LEVEL SECURITY", up: `ALTER TABLE posts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY` },
  { kind: "ALTER TABLE VALIDATE CONSTRAINT", up: `ALTER TABLE posts ADD CONSTRAINT posts_id_positive CHECK (id > 0) NOT VALID; ALTER TABLE posts VALIDATE CONSTRAINT posts_id_positive` },
  { kind: "RENAME TABLE", up: `ALTER TABLE posts RENAME TO articles`, sql: /^ALTER TABLE "articles" RENAME TO "posts";$/ },
  { kind: "RENAME COLUMN", up: `ALTER TABLE users RENAME COLUMN name TO full_name`, sql: /^ALTER TABLE "users" RENAME COLUMN "full_name" TO "name";$/ },
  { kind: "RENAME CONSTRAINT", up: `ALTER TABLE posts RENAME CONSTRAINT posts_title_check TO posts_title_not_empty`, sql: /RENAME CONSTRAINT "posts_title_not_empty" TO "posts_title_check";$/ },
  { kind: "RENAME INDEX", up: `ALTER INDEX posts_title_idx RENAME TO posts_by_title`, sql: /^ALTER INDEX "posts_by_title" RENAME TO "posts_title_idx";$/ },
  { kind: "RENAME VIEW", up: `ALTER VIEW adults RENAME TO grown_ups` },
  { kind: "RENAME MATERIALIZED VIEW", up: `ALTER MATERIALIZED VIEW user_counts RENAME TO user_totals` },
  { kind: "RENAME SEQUENCE", up: `ALTER SEQUENCE invoice_numbers RENAME TO bill_numbers` },
  { kind: "RENAME TYPE", up: `ALTER TYPE mood RENAME TO feeling`, sql: /^ALTER TYPE "feeling" RENAME TO "mood";$/ },
  { kind: "RENAME SCHEMA", up: `ALTER SCHEMA reports RENAME TO analytics`, sql: /^ALTER SCHEMA "analytics" RENAME TO "reports";$/ },
  { kind: "ALTER TYPE RENAME VALUE", up: `ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'`, sql: /^ALTER TYPE "mood" RENAME VALUE 'fine' TO 'ok';$/ },
  { kind: "ALTER TYPE ADD VALUE", up: `CREATE TYPE color AS ENUM ('red'); ALTER TYPE color ADD VALUE 'blue'` },
  { kind: "INSERT", up: `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'a'), (2, 'b')` },
  { kind: "UPDATE", up: `CREATE TABLE drafts AS SELECT * FROM posts; UPDATE drafts SET title = upper(title)` },
  { kind: "DELETE", up: `CREATE TABLE drafts AS SELECT * FROM posts; DELETE FROM drafts WHERE id = 1` },
  { kind: "TRUNCATE", up: `CREATE TABLE drafts AS SELECT * FROM posts; TRUNCATE drafts` },
  { kind: "CREATE POLICY", up: `CREATE POLICY own_posts ON posts USING (author = 1)`, sql: /^DROP POLICY "own_posts" ON "posts";$/ },
  { kind: "COMMENT ON", up: `CREATE TABLE notes (id int); COMMENT ON TABLE notes IS 'scratch'; COMMENT ON COLUMN notes.id IS 'key'` },
  { kind: "GRANT", up: `GRANT SELECT, UPDATE (id) ON users, posts TO PUBLIC`, sql: /^REVOKE SELECT, UPDATE \("id"\) ON TABLE "users", "posts" FROM PUBLIC;$/ },
  { kind: "GRANT", up: `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO PUBLIC`, sql: /^REVOKE USAGE ON ALL SEQUENCES IN SCHEMA "public" FROM PUBLIC;$/ },
  { kind: "GRANT", up: `GRANT USAGE ON SCHEMA reports TO PUBLIC`, sql: /^REVOKE USAGE ON SCHEMA "reports" FROM PUBLIC;$/ },
  { kind: "REVOKE", up: `REVOKE SELECT ON adults FROM PUBLIC`, sql: /^GRANT SELECT ON TABLE "adults" TO PUBLIC;$/, review: /held exactly/ },
  { kind: "ALTER TABLE SET SCHEMA", up: `ALTER TABLE public.tags SET SCHEMA reports`, sql: /^ALTER TABLE "reports"."tags" SET SCHEMA "public";$/ },
  { kind: "ALTER TABLE ATTACH PARTITION", up: `ALTER TABLE events ATTACH PARTITION events_one FOR VALUES IN (1)`, sql: /^ALTER TABLE "events" DETACH PARTITION "events_one";$/ },
  { kind: "SET", up: `SET lock_timeout = '5s'`, isNoOp: true },
  { kind: "SET", up: `SET search_path TO public`, isNoOp: true, review: /search_path/ },
];

/** Every kind the generator cannot reverse without losing data or without knowing what the text does not say. */
const IRREVERSIBLE: Array<{ kind: string; up: string; reason: RegExp }> = [
  { kind: "DROP TABLE", up: `DROP TABLE posts, tags`, reason: /^the dropped table "posts", "tags" and its data cannot be restored by SQL; restore it from a snapshot \(migrate up --snapshot\)$/ },
  { kind: "DROP INDEX", up: `DROP INDEX posts_title_idx`, reason: /definition of the dropped index/ },
  { kind: "DROP INDEX CONCURRENTLY", up: `DROP INDEX CONCURRENTLY posts_title_idx`, reason: /definition of the dropped index/ },
  { kind: "DROP TYPE", up: `DROP TYPE mood CASCADE`, reason: /definition of the dropped type "mood"/ },
  { kind: "DROP VIEW", up: `DROP VIEW adults`, reason: /definition of the dropped view/ },
  { kind: "DROP FUNCTION", up: `DROP FUNCTION touch()`, reason: /definition of the dropped function "touch"/ },
  { kind: "DROP SCHEMA", up: `DROP SCHEMA reports`, reason: /data cannot be restored/ },
  { kind: "ALTER TABLE DROP COLUMN", up: `ALTER TABLE users DROP COLUMN email`, reason: /column "email" and its data cannot be restored.*snapshot/ },
  { kind: "ALTER TABLE DROP CONSTRAINT", up: `ALTER TABLE posts DROP CONSTRAINT posts_title_check`, reason: /definition of the dropped constraint "posts_title_check"/ },
  { kind: "ALTER TABLE ALTER COLUMN TYPE", up: `ALTER TABLE users ALTER COLUMN age TYPE smallint`, reason: /previous type of "age".*lose data/ },
  { kind: "ALTER TABLE ALTER COLUMN TYPE", up: `ALTER TABLE users ALTER COLUMN age TYPE bigint`, reason: /previous type of "age"/ },
  { kind: "ALTER TABLE ALTER COLUMN SET DEFAULT", up: `ALTER TABLE users ALTER COLUMN name SET DEFAULT 'nobody'`, reason: /previous default of "name"/ },
  { kind: "ALTER TABLE ALTER COLUMN DROP DEFAULT", up: `ALTER TABLE users ALTER COLUMN name DROP DEFAULT`, reason: /dropped default of "name"/ },
  { kind: "ALTER TABLE VALIDATE CONSTRAINT", up: `ALTER TABLE posts VALIDATE CONSTRAINT posts_title_check`, reason: /NOT VALID/ },
  { kind: "ALTER TYPE ADD VALUE", up: `ALTER TYPE mood ADD VALUE 'happy'`, reason: /cannot remove the value 'happy'/ },
  { kind: "UPDATE", up: `UPDATE users SET name = upper(name)`, reason: /before UPDATE cannot be restored.*snapshot/ },
  { kind: "DELETE", up: `DELETE FROM posts WHERE id = 1`, reason: /before DELETE cannot be restored/ },
  { kind: "TRUNCATE", up: `TRUNCATE posts`, reason: /before TRUNCATE cannot be restored/ },
  { kind: "INSERT", up: `INSERT INTO users (id, email, age) VALUES (2, 'bob@example.com', 40)`, reason: /write the DELETE here/ },
  { kind: "COMMENT ON", up: `COMMENT ON TABLE users IS 'people'`, reason: /previous comment/ },
  { kind: "ALTER SEQUENCE", up: `ALTER SEQUENCE invoice_numbers RESTART 500`, reason: /does not know how to undo ALTER SEQUENCE/ },
  { kind: "GRANT", up: `GRANT USAGE ON TYPE mood TO PUBLIC`, reason: /does not know how to undo GRANT on this kind of object/ },
  { kind: "ALTER TABLE SET SCHEMA", up: `ALTER TABLE tags SET SCHEMA reports`, reason: /not written in the up/ },
  { kind: "DO", up: `DO $$ BEGIN PERFORM 1; END $$`, reason: /does not know how to undo DO/ },
];

describe("generateDown: every reversible kind, checked by the catalog comparison", () => {
  it.each(REVERSIBLE)("$kind: $up", async ({ kind, up, sql, review, isNoOp }) => {
    const result = await roundTrip(up);
    expect(result.down.isIrreversible).toBe(false);
    expect(result.down.sql).not.toContain(IRREVERSIBLE_DIRECTIVE);
    const step = result.down.steps.find((candidate) => candidate.kind === kind);
    expect(step, `a step of kind "${kind}" in ${JSON.stringify(result.down.steps)}`).toBeDefined();
    expect(step!.reversible).toBe(true);
    if (sql) expect(step!.sql).toMatch(sql);
    if (review) expect(step!.reason).toMatch(review);
    expect(result.changedByUp).toBe(!isNoOp);
    expect(result.remaining).toEqual([]);
    expect(result.probeAfter).toEqual(result.probeBefore);
  });
});

describe("generateDown: every irreversible kind is a commented step that marks the down irreversible", () => {
  it.each(IRREVERSIBLE)("$kind: $up", async ({ kind, up, reason }) => {
    const down = await generateDown(up);
    expect(down.isIrreversible).toBe(true);
    expect(isIrreversibleDown(down.sql)).toBe(true);
    expect(down.steps).toHaveLength(1);
    const [step] = down.steps;
    expect(step).toMatchObject({ line: 1, kind, reversible: false });
    expect(step!.reason).toMatch(reason);
    expect(step!.sql).toBe(`-- IRREVERSIBLE: ${kind}: ${step!.reason}`);
    // The step is only a comment: the down holds no statement to run.
    expect(splitStatements(down.sql).statements).toEqual([]);
  });

  it("does not count rows written to a CREATE TABLE IF NOT EXISTS table as covered: the table may be older than the up", async () => {
    const down = await generateDown("CREATE TABLE IF NOT EXISTS users (id int);\nINSERT INTO users (id, age) VALUES (3, 1);\n");
    expect(down.isIrreversible).toBe(true);
    expect(down.steps.map((step) => [step.kind, step.reversible])).toEqual([["INSERT", false], ["CREATE TABLE", true]]);
    expect(down.steps[1]?.reason).toMatch(/IF NOT EXISTS/);
  });

  it("leaves an unnamed index or constraint on a table the up creates to the table's drop, without guessing its name", async () => {
    const down = await generateDown("CREATE TABLE t (a int, b int);\nCREATE INDEX ON t (a);\nALTER TABLE t ADD UNIQUE (b);\n");
    expect(down.isIrreversible).toBe(false);
    expect(down.steps.map((step) => step.sql)).toEqual([
      "-- nothing to undo: ALTER TABLE ADD CONSTRAINT applies to an object this migration creates, which the down drops",
      "-- nothing to undo: CREATE INDEX applies to an object this migration creates, which the down drops",
      'DROP TABLE "t";',
    ]);
  });

  it("keeps names with line breaks inside the comments of irreversible steps", async () => {
    const down = await generateDown(`ALTER TABLE users DROP COLUMN "a\nDROP TABLE users; --";\nALTER TYPE mood ADD VALUE 'x\nDROP TABLE posts; --';\n`);
    expect(down.isIrreversible).toBe(true);
    expect(splitStatements(down.sql).statements).toEqual([]);
  });

  it("marks an up PostgreSQL cannot parse as irreversible, at the line of the error", async () => {
    const down = await generateDown("CREATE TABLE a (id int);\nCREATE TABLE b (id int,);\n");
    expect(down.isIrreversible).toBe(true);
    expect(down.steps).toEqual([expect.objectContaining({ kind: "unparsed", reversible: false, line: 2 })]);
  });
});

describe("generateDown: a migration mixing kinds", () => {
  const UP = [
    "CREATE TYPE reports.status AS ENUM ('draft', 'sent');",
    "CREATE TABLE reports.weekly (",
    "  id serial PRIMARY KEY,",
    "  owner int NOT NULL REFERENCES users (id),",
    "  status reports.status NOT NULL DEFAULT 'draft'",
    ");",
    "CREATE INDEX weekly_owner_idx ON reports.weekly (owner);",
    "ALTER TABLE users ADD COLUMN phone text, ALTER COLUMN email SET NOT NULL, ADD CONSTRAINT users_email_unique UNIQUE (email);",
    "ALTER TABLE posts RENAME COLUMN title TO headline;",
    "ALTER TABLE posts RENAME TO articles;",
    "CREATE VIEW reports.owners AS SELECT DISTINCT owner FROM reports.weekly;",
    "INSERT INTO reports.weekly (owner) VALUES (1);",
    "ALTER TYPE reports.status ADD VALUE 'archived';",
  ].join("\n");

  it("undoes each statement in the reverse order and restores the catalog", async () => {
    const result = await roundTrip(UP);
    expect(result.down.steps.map((step) => `${step.line} ${step.kind}`)).toEqual([
      "13 ALTER TYPE ADD VALUE",
      "12 INSERT",
      "11 CREATE VIEW",
      "10 RENAME TABLE",
      "9 RENAME COLUMN",
      "8 ALTER TABLE ADD CONSTRAINT",
      "8 ALTER TABLE ALTER COLUMN SET NOT NULL",
      "8 ALTER TABLE ADD COLUMN",
      "7 CREATE INDEX",
      "2 CREATE TABLE",
      "1 CREATE TYPE AS ENUM",
    ]);
    expect(result.down.isIrreversible).toBe(false);
    expect(result.remaining).toEqual([]);
    // Each subcommand of a multi-command ALTER TABLE is its own step, named in its header.
    expect(result.down.sql).toContain('-- Undoes line 8: ALTER TABLE "users" ALTER COLUMN "email" SET NOT NULL\n-- REVIEW: assumes "email" allowed NULL before the migration\nALTER TABLE "users" ALTER COLUMN "email" DROP NOT NULL;');
    expect(result.down.sql).toContain('-- Undoes line 8: ALTER TABLE "users" ADD COLUMN "phone"\nALTER TABLE "users" DROP COLUMN "phone";');
    const statements = splitStatements(result.down.sql).statements.map((statement) => statement.text);
    expect(statements).toEqual([
      'DROP VIEW "reports"."owners"',
      'ALTER TABLE "articles" RENAME TO "posts"',
      'ALTER TABLE "posts" RENAME COLUMN "headline" TO "title"',
      'ALTER TABLE "users" DROP CONSTRAINT "users_email_unique"',
      'ALTER TABLE "users" ALTER COLUMN "email" DROP NOT NULL',
      'ALTER TABLE "users" DROP COLUMN "phone"',
      'DROP INDEX "reports"."weekly_owner_idx"',
      'DROP TABLE "reports"."weekly"',
      'DROP TYPE "reports"."status"',
    ]);
  });

  it("keeps the reversible steps and comments out the irreversible ones when the two mix", async () => {
    const down = await generateDown("ALTER TABLE users ADD COLUMN phone text;\nALTER TABLE users DROP COLUMN email;\nCREATE INDEX users_phone_idx ON users (phone);\n");
    expect(down.isIrreversible).toBe(true);
    expect(down.steps.map((step) => [step.line, step.reversible])).toEqual([[3, true], [2, false], [1, true]]);
    expect(down.sql).toContain(IRREVERSIBLE_DIRECTIVE);
    expect(down.sql).toMatch(/-- IRREVERSIBLE: ALTER TABLE DROP COLUMN: the column "email" and its data cannot be restored by SQL; restore it from a snapshot \(migrate up --snapshot\)/);
    expect(splitStatements(down.sql).statements.map((statement) => statement.text)).toEqual([
      'DROP INDEX "users_phone_idx"',
      'ALTER TABLE "users" DROP COLUMN "phone"',
    ]);
  });
});

// One migration holding every reversible kind of the table above, in an order where each statement still applies.
const EVERY_REVERSIBLE_KIND = `
  SET lock_timeout = '5s';
  SET search_path TO public;
  CREATE EXTENSION IF NOT EXISTS citext;
  CREATE SCHEMA audit;
  CREATE SCHEMA archive CREATE TABLE entries (id int) CREATE VIEW recent AS SELECT id FROM entries;
  CREATE TYPE reports.status AS ENUM ('draft', 'sent');
  CREATE TYPE address AS (street text, city text);
  CREATE TYPE float_range AS RANGE (subtype = float8);
  CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
  CREATE TYPE color AS ENUM ('red');
  ALTER TYPE color ADD VALUE 'blue';
  CREATE SEQUENCE order_numbers START 100;
  CREATE TABLE accounts (id bigserial PRIMARY KEY, owner int REFERENCES users (id), note text NOT NULL DEFAULT '');
  CREATE TABLE IF NOT EXISTS reports.daily (day date PRIMARY KEY);
  CREATE TABLE user_copy AS SELECT * FROM users;
  CREATE TABLE notes (id int PRIMARY KEY, body text);
  INSERT INTO notes VALUES (1, 'a'), (2, 'b');
  UPDATE notes SET body = upper(body);
  DELETE FROM notes WHERE id = 1;
  COMMENT ON TABLE notes IS 'scratch';
  TRUNCATE notes;
  CREATE INDEX users_email_idx ON users (email);
  CREATE UNIQUE INDEX ON users (email, name);
  CREATE INDEX ON users (lower(email));
  CREATE INDEX ON ${LONG_TABLE} (a_column_name_that_is_also_rather_long_for_an_index);
  CREATE VIEW named_users AS SELECT id, name FROM users WHERE name IS NOT NULL;
  CREATE OR REPLACE VIEW sad_users AS SELECT id FROM users WHERE mood = 'sad';
  CREATE MATERIALIZED VIEW post_counts AS SELECT author, count(*) FROM posts GROUP BY author;
  CREATE FUNCTION reports.add(a int, b varchar(10) DEFAULT 'x', OUT total int, VARIADIC rest numeric[] DEFAULT '{}') LANGUAGE sql AS $$ SELECT a $$;
  CREATE FUNCTION greet(who users) RETURNS text LANGUAGE sql AS $$ SELECT 'hi ' || who.name $$;
  CREATE PROCEDURE reset_age(IN who int, OUT done boolean) LANGUAGE sql AS $$ SELECT true $$;
  CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
  CREATE POLICY own_posts ON posts USING (author = 1);
  ALTER TABLE users ADD COLUMN nickname text NOT NULL DEFAULT '' CHECK (nickname <> 'root');
  ALTER TABLE posts ADD COLUMN IF NOT EXISTS editor int REFERENCES users (id);
  ALTER TABLE posts ADD CONSTRAINT posts_author_fk FOREIGN KEY (author) REFERENCES users (id);
  ALTER TABLE posts ADD FOREIGN KEY (author) REFERENCES users (id) ON DELETE CASCADE;
  ALTER TABLE users ADD CHECK (age >= 0), ADD CHECK (age > 0 OR name IS NULL), ADD UNIQUE (email);
  ALTER TABLE tags ADD PRIMARY KEY (label);
  ALTER TABLE bookings ADD EXCLUDE USING gist (during WITH &&);
  ALTER TABLE ${LONG_TABLE} ADD UNIQUE (a_column_name_that_is_also_rather_long_for_an_index);
  ALTER TABLE ${LONG_TABLE} ADD CHECK (a_column_name_that_is_also_rather_long_for_an_index > 0);
  ALTER TABLE users ALTER COLUMN email SET NOT NULL, ALTER COLUMN age DROP NOT NULL;
  ALTER TABLE users ADD COLUMN score int, ADD COLUMN level int DEFAULT 1, ADD COLUMN rank int;
  ALTER TABLE users ALTER COLUMN score SET DEFAULT 5, ALTER COLUMN level DROP DEFAULT, ALTER COLUMN rank TYPE bigint;
  ALTER TABLE counters ALTER COLUMN n ADD GENERATED ALWAYS AS IDENTITY;
  ALTER TABLE posts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
  GRANT SELECT, UPDATE (id) ON users, posts TO PUBLIC;
  GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO PUBLIC;
  GRANT USAGE ON SCHEMA reports TO PUBLIC;
  REVOKE SELECT ON adults FROM PUBLIC;
  ALTER TABLE public.tags SET SCHEMA reports;
  ALTER TABLE events ATTACH PARTITION events_one FOR VALUES IN (1);
  ALTER TABLE posts ADD CONSTRAINT posts_id_positive CHECK (id > 0) NOT VALID;
  ALTER TABLE posts VALIDATE CONSTRAINT posts_id_positive;
  CREATE INDEX CONCURRENTLY users_name_idx ON users (name);
  ALTER TABLE users RENAME COLUMN name TO full_name;
  ALTER TABLE posts RENAME CONSTRAINT posts_title_check TO posts_title_not_empty;
  ALTER INDEX posts_title_idx RENAME TO posts_by_title;
  ALTER TABLE posts RENAME TO articles;
  ALTER VIEW adults RENAME TO grown_ups;
  ALTER MATERIALIZED VIEW user_counts RENAME TO user_totals;
  ALTER SEQUENCE invoice_numbers RENAME TO bill_numbers;
  ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';
  ALTER TYPE mood RENAME TO feeling;
  ALTER SCHEMA reports RENAME TO analytics;
`;

describe("generateDown: one migration covering every kind", () => {
  it("reverses a migration holding every reversible kind exactly", async () => {
    const result = await roundTrip(EVERY_REVERSIBLE_KIND);
    const kinds = new Set(result.down.steps.map((step) => step.kind));
    expect(REVERSIBLE.map((row) => row.kind).filter((kind) => !kinds.has(kind))).toEqual([]);
    expect(result.down.isIrreversible).toBe(false);
    expect(result.down.steps.every((step) => step.reversible)).toBe(true);
    expect(result.remaining).toEqual([]);
    expect(result.probeAfter).toEqual(result.probeBefore);
  });

  it("marks the same migration irreversible once it also holds every irreversible kind, one commented step each", async () => {
    const irreversibleUp = IRREVERSIBLE.map((row) => `${row.up};`).join("\n");
    const down = await generateDown(`${EVERY_REVERSIBLE_KIND}\n${irreversibleUp}\n`);
    expect(down.isIrreversible).toBe(true);
    const irreversibleSteps = down.steps.filter((step) => !step.reversible);
    expect(irreversibleSteps.map((step) => step.kind).sort()).toEqual(IRREVERSIBLE.map((row) => row.kind).sort());
    for (const step of irreversibleSteps) expect(down.sql).toContain(step.sql);
    // The reversible steps are all still there, as statements.
    expect(down.steps.filter((step) => step.reversible)).toEqual((await generateDown(EVERY_REVERSIBLE_KIND)).steps);
  });
});

describe("draftDownFile", () => {
  it("drafts the down of an up file, naming the file and asking for a review", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pm-draft-down-"));
    try {
      const file = join(dir, "0002_add_phone.sql");
      writeFileSync(file, "ALTER TABLE users ADD COLUMN phone text;\n");
      const down = await draftDownFile(file);
      expect(down.sql).toBe(
        [
          '-- Down of "0002_add_phone.sql", drafted by Polymigrate from the up\'s SQL.',
          "-- Review it before relying on it: the statements run in the reverse order of the up.",
          "",
          "-- Undoes line 1: ALTER TABLE users ADD COLUMN phone text",
          'ALTER TABLE "users" DROP COLUMN "phone";',
          "",
        ].join("\n"),
      );
      expect(isIrreversibleDown(down.sql)).toBe(false);
      // Prisma names every up migration.sql: the folder names the migration.
      mkdirSync(join(dir, "20260101000000_init"));
      writeFileSync(join(dir, "20260101000000_init", "migration.sql"), "CREATE TABLE a (id int);\n");
      expect((await draftDownFile(join(dir, "20260101000000_init", "migration.sql"))).sql).toMatch(/^-- Down of "20260101000000_init\/migration.sql"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the plain-SQL stack's create", () => {
  it("writes the given up and the down drafted from it, which the stack then reads as the migration's down", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pm-sql-create-"));
    try {
      const adapter = createSqlAdapter({ dir });
      const up = "CREATE TABLE notes (id int PRIMARY KEY);\nALTER TABLE notes ADD COLUMN body text;\n";
      const result = await adapter.createMigration({ name: "add notes", sql: up });
      expect(result.id).toBe("0001_add_notes");
      const [migration] = readSqlMigrations(dir);
      expect(migration?.sql).toBe(up);
      expect(migration?.down?.sql).toContain('-- Down of "0001_add_notes.sql", drafted by Polymigrate');
      expect(splitStatements(migration?.down?.sql ?? "").statements.map((statement) => statement.text)).toEqual([
        'ALTER TABLE "notes" DROP COLUMN "body"',
        'DROP TABLE "notes"',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("still writes a placeholder down when it has no up SQL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pm-sql-create-"));
    try {
      await createSqlAdapter({ dir }).createMigration({ name: "empty" });
      expect(readSqlMigrations(dir)[0]?.down?.sql).toBe("-- Undoes 0001_empty: write the statements that reverse it here.\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
