import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, diffCatalogSnapshots, generateDown, readCatalogSnapshot, type CatalogSnapshot } from "@polymigrate/core";
import { createTestDatabase, createTestProject, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

const PASSWORD = "snap-secret-pw";

const INIT = `CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, nickname text);
CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), total int NOT NULL);
CREATE TABLE audit (id serial PRIMARY KEY, note text NOT NULL);
CREATE TABLE reviews (id serial PRIMARY KEY, order_id int NOT NULL REFERENCES orders (id), stars int NOT NULL);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total >= 10;
COMMENT ON COLUMN users.nickname IS 'what friends call them';
`;
const DROP_NICKNAME = "ALTER TABLE users DROP COLUMN nickname;\n";
const PURGE_ORDERS = `DELETE FROM orders WHERE total < 10;
-- polymigrate:allow require-concurrent-index-creation
CREATE INDEX orders_total_idx ON orders (total);
CREATE TABLE purge_log (id int PRIMARY KEY, purged_at timestamptz NOT NULL DEFAULT now());
`;

let database: TestDatabase;
let other: TestDatabase | undefined;
let project: TestProject;
let bin: string;

async function catalogOf(target: TestDatabase): Promise<CatalogSnapshot> {
  const session = await connect(target.url);
  try {
    return await readCatalogSnapshot(session.client);
  } finally {
    await session.close();
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "migrations/0001_init.sql": INIT,
    "migrations/0001_init.down.sql": "DROP VIEW big_orders;\nDROP TABLE reviews;\nDROP TABLE audit;\nDROP TABLE orders;\nDROP TABLE users;\n",
    "migrations/0002_drop_nickname.sql": DROP_NICKNAME,
    // Hand-written: the deleted rows cannot come back by SQL.
    "migrations/0003_purge_orders.sql": PURGE_ORDERS,
    "migrations/0003_purge_orders.down.sql":
      "-- polymigrate:irreversible\n-- IRREVERSIBLE: DELETE: the deleted orders cannot be restored by SQL\nDROP TABLE purge_log;\nDROP INDEX orders_total_idx;\n",
  });
  // The drafted down, as `migrate create` writes it: DROP COLUMN is marked irreversible.
  const drafted = await generateDown(DROP_NICKNAME, { source: "0002_drop_nickname.sql" });
  expect(drafted.isIrreversible).toBe(true);
  project.write("migrations/0002_drop_nickname.down.sql", drafted.sql);
  // pg_dump is the real one; this wrapper only records the arguments it was given.
  bin = mkdtempSync(join(tmpdir(), "polymigrate-bin-"));
  writeFileSync(join(bin, "pg_dump"), `#!/bin/sh\nprintf '%s\\n' "$@" >> "${join(bin, "argv.log")}"\nprintf '%s\\n' "$PGDATABASE" >> "${join(bin, "env.log")}"\nexec /usr/bin/pg_dump "$@"\n`);
  chmodSync(join(bin, "pg_dump"), 0o755);
});

afterEach(async () => {
  project.remove();
  rmSync(bin, { recursive: true, force: true });
  await database.drop();
  await other?.drop();
  other = undefined;
});

describe("snapshots", () => {
  it("refuses to undo irreversible migrations, and restores a snapshot that brings back dropped data", async () => {
    const env = { DIRECT_URL: database.urlWithPassword(PASSWORD), PATH: `${bin}:${process.env.PATH}` };
    const outputs: string[] = [];
    const run = async (args: string[], runEnv: Record<string, string> = env) => {
      const result = await runCli(args, { cwd: project.dir, env: runEnv, timeoutMs: 120_000 });
      outputs.push(result.stdout, result.stderr);
      return result;
    };

    const init = await run(["up", "--to", "0001_init"]);
    expect(init.exitCode, init.stderr).toBe(0);
    await database.query("INSERT INTO users (email, nickname) VALUES ('ada@example.com', 'ada'), ('bob@example.com', 'bobby'), ('cy@example.com', NULL)");
    await database.query("INSERT INTO orders (user_id, total) VALUES (1, 5), (1, 50), (2, 7), (3, 120)");
    await database.query("INSERT INTO audit (note) VALUES ('first'), ('second')");
    // An untouched table whose foreign key points at a restored one: the key must come back, the rows stay.
    await database.query("INSERT INTO reviews (order_id, stars) VALUES (2, 5), (4, 3)");
    const usersBefore = await database.query("SELECT id, email, nickname FROM users ORDER BY id");
    const ordersBefore = await database.query("SELECT id, user_id, total FROM orders ORDER BY id");
    const catalogBefore = await catalogOf(database);

    const up = await run(["up", "--snapshot", "--snapshot-data"]);
    expect(up.exitCode, up.stderr).toBe(0);
    const snapshots = join(project.dir, ".polymigrate", "snapshots");
    const [id, ...more] = readdirSync(snapshots);
    expect(more).toEqual([]);
    expect(id).toMatch(/^\d{8}T\d{9}Z-/);
    expect(up.stdout).toContain(`migrate down --to-snapshot ${id}`);
    const manifest = JSON.parse(readFileSync(join(snapshots, id!, "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({
      id,
      stack: "sql",
      mode: "tables",
      database: { name: database.name },
      applied: ["0001_init"],
      pending: ["0002_drop_nickname", "0003_purge_orders"],
      files: { schema: "schema.dump", data: "data.dump" },
    });
    // audit is untouched by the run: its data is not in the snapshot.
    expect(manifest.tables).toEqual([
      { name: "public.orders", rows: 4 },
      { name: "public.users", rows: 3 },
    ]);
    expect(Object.keys(manifest.catalog.objects)).toContain("column:public.users.nickname");

    // The run dropped data; rows written afterwards to an untouched table must survive the restore.
    expect((await database.query("SELECT count(*)::int AS n FROM orders"))[0]!.n).toBe(2);
    await database.query("INSERT INTO audit (note) VALUES ('after the snapshot')");

    const refused = await run(["down", "--steps", "2"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('Cannot undo "0003_purge_orders", "0002_drop_nickname"');
    expect(refused.stderr).toContain(`Snapshot "${id}"`);
    expect(refused.stderr).toContain(`migrate down --to-snapshot ${id}`);
    const json = await run(["down", "--json"]);
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout).projects[0].error).toMatchObject({ code: "ROLLBACK_UNAVAILABLE", details: { ids: ["0003_purge_orders"], snapshot: id } });

    // A snapshot of another database is refused, and nothing changes.
    other = await createTestDatabase();
    const elsewhere = await run(["down", "--to-snapshot", id!], { ...env, DIRECT_URL: other.url });
    expect(elsewhere.exitCode).toBe(2);
    expect(elsewhere.stderr).toContain(`on database "${database.name}", not of project`);

    const restored = await run(["down", "--to-snapshot", id!]);
    expect(restored.exitCode, restored.stderr + restored.stdout).toBe(0);
    expect(restored.stdout).toContain(`Restored snapshot ${id}`);

    expect(await database.query("SELECT id, email, nickname FROM users ORDER BY id")).toEqual(usersBefore);
    expect(await database.query("SELECT id, user_id, total FROM orders ORDER BY id")).toEqual(ordersBefore);
    expect((await database.query("SELECT note FROM audit ORDER BY id")).map((row) => row.note)).toEqual(["first", "second", "after the snapshot"]);
    expect(await database.query("SELECT id, total FROM big_orders ORDER BY id")).toEqual([{ id: 2, total: 50 }, { id: 4, total: 120 }]);
    expect(await listTables(database)).toEqual(["audit", "big_orders", "orders", "reviews", "users"]);
    expect(await database.query("SELECT order_id, stars FROM reviews ORDER BY id")).toEqual([{ order_id: 2, stars: 5 }, { order_id: 4, stars: 3 }]);
    expect(diffCatalogSnapshots(catalogBefore, await catalogOf(database))).toEqual([]);
    expect(await database.query("SELECT col_description('users'::regclass, 3) AS comment")).toEqual([{ comment: "what friends call them" }]);
    // The sequences come back where they were: the next order is 5.
    expect((await database.query("INSERT INTO orders (user_id, total) VALUES (2, 1) RETURNING id"))[0]!.id).toBe(5);

    const status = await run(["status", "--json"]);
    const states = Object.fromEntries(JSON.parse(status.stdout).projects[0].status.map((entry: { id: string; state: string }) => [entry.id, entry.state]));
    expect(states).toEqual({ "0001_init": "applied", "0002_drop_nickname": "pending", "0003_purge_orders": "pending" });

    // No password anywhere: the snapshot's files, the output, pg_dump's arguments.
    for (const file of filesUnder(snapshots)) expect(readFileSync(file).includes(PASSWORD), file).toBe(false);
    for (const output of outputs) expect(output).not.toContain(PASSWORD);
    const argv = readFileSync(join(bin, "argv.log"), "utf8");
    expect(argv).toContain("--schema-only");
    expect(argv).not.toContain(PASSWORD);
    expect(argv).not.toContain(database.name);
    expect(readFileSync(join(bin, "env.log"), "utf8")).toContain(database.name);
  }, 180_000);

  it("refuses down on an irreversible migration when no snapshot covers it, naming it", async () => {
    const env = { DIRECT_URL: database.url };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    const refused = await runCli(["down", "--steps", "2"], { cwd: project.dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('Cannot undo "0003_purge_orders", "0002_drop_nickname"');
    expect(refused.stderr).toContain("irreversible");
    expect(refused.stderr).toContain("No snapshot covers them");
    expect(refused.stderr).toContain("Nothing was undone");
    expect(await listTables(database)).toContain("purge_log");
    expect(existsSync(join(project.dir, ".polymigrate"))).toBe(false);
  });

  it.each([
    [["up", "--snapshot-data"], "--snapshot-data goes with --snapshot"],
    [["down", "--to-snapshot", "x", "--steps", "2"], "Use --to-snapshot alone"],
    [["down", "--to-snapshot", "20260102T030405006Z-nope"], 'There is no snapshot "20260102T030405006Z-nope"'],
  ])("refuses %j with exit 2", async (args, message) => {
    const result = await runCli(args, { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("needs --confirm <database> to restore a snapshot on production", async () => {
    const env = { DIRECT_URL: database.url, MIGRATE_ENV: "production" };
    expect((await runCli(["up", "--to", "0001_init"], { cwd: project.dir, env })).exitCode).toBe(0);
    const up = await runCli(["up", "--snapshot", "--json"], { cwd: project.dir, env });
    expect(up.exitCode, up.stderr).toBe(0);
    const { snapshot, restorePoint } = JSON.parse(up.stdout).projects[0];
    expect(restorePoint.lsn).toBeDefined();
    const refused = await runCli(["down", "--to-snapshot", snapshot.id], { cwd: project.dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`needs --confirm ${database.name}`);
    expect(await listTables(database)).toContain("purge_log");
    const confirmed = await runCli(["down", "--to-snapshot", snapshot.id, "--confirm", database.name], { cwd: project.dir, env });
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect(await listTables(database)).not.toContain("purge_log");
  }, 120_000);

  it("saves the schema only when the run destroys no data, and its restore keeps every row", async () => {
    project.write("migrations/0002_drop_nickname.sql", "ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0;\nCREATE TABLE tags (id int PRIMARY KEY, user_id int REFERENCES users (id));\n");
    project.write("migrations/0002_drop_nickname.down.sql", "DROP TABLE tags;\nALTER TABLE users DROP COLUMN age;\n");
    project.write(
      "migrations/0003_purge_orders.sql",
      `CREATE TYPE mood AS ENUM ('ok');
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
`,
    );
    project.write("migrations/0003_purge_orders.down.sql", "DROP TRIGGER users_touch ON users;\nDROP FUNCTION touch();\nDROP EXTENSION pgcrypto;\nDROP TYPE mood;\n");
    const env = { DIRECT_URL: database.url };
    expect((await runCli(["up", "--to", "0001_init"], { cwd: project.dir, env })).exitCode).toBe(0);
    await database.query("INSERT INTO users (email) VALUES ('ada@example.com')");
    const catalogBefore = await catalogOf(database);
    const up = await runCli(["up", "--snapshot", "--json"], { cwd: project.dir, env });
    expect(up.exitCode, up.stderr).toBe(0);
    const snapshot = JSON.parse(up.stdout).projects[0].snapshot;
    expect(snapshot).toMatchObject({ mode: "schema", tables: [] });
    expect(readdirSync(snapshot.folder).sort()).toEqual(["manifest.json", "schema.dump"]);
    await database.query("INSERT INTO users (email, age) VALUES ('bob@example.com', 40)");
    const restored = await runCli(["down", "--to-snapshot", snapshot.id], { cwd: project.dir, env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect((await database.query("SELECT email FROM users ORDER BY id")).map((row) => row.email)).toEqual(["ada@example.com", "bob@example.com"]);
    expect(diffCatalogSnapshots(catalogBefore, await catalogOf(database))).toEqual([]);
    const status = await runCli(["status", "--json"], { cwd: project.dir, env });
    expect(JSON.parse(status.stdout).projects[0].status.filter((entry: { state: string }) => entry.state === "pending")).toHaveLength(2);
  }, 120_000);

  it("saves every table's data when it cannot tell what the SQL touches", async () => {
    project.write("migrations/0002_drop_nickname.sql", "DO $$ BEGIN EXECUTE 'ALTER TABLE users DROP COLUMN nickname'; END $$;\n");
    const env = { DIRECT_URL: database.url };
    expect((await runCli(["up", "--to", "0001_init"], { cwd: project.dir, env })).exitCode).toBe(0);
    await database.query("INSERT INTO users (email, nickname) VALUES ('ada@example.com', 'ada')");
    await database.query("INSERT INTO audit (note) VALUES ('kept')");
    const catalogBefore = await catalogOf(database);
    const up = await runCli(["up", "--snapshot", "--json"], { cwd: project.dir, env });
    expect(up.exitCode, up.stderr).toBe(0);
    const snapshot = JSON.parse(up.stdout).projects[0].snapshot;
    expect(snapshot.mode).toBe("all");
    expect(snapshot.tables.map((table: { name: string }) => table.name)).toEqual(["public.audit", "public.orders", "public.reviews", "public.users"]);
    const restored = await runCli(["down", "--to-snapshot", snapshot.id], { cwd: project.dir, env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await database.query("SELECT email, nickname FROM users")).toEqual([{ email: "ada@example.com", nickname: "ada" }]);
    expect(diffCatalogSnapshots(catalogBefore, await catalogOf(database))).toEqual([]);
  }, 120_000);
});
