import { cpSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCatalogSnapshot, type RehearsalReport } from "@polymigrate/core";
import { ADMIN_URL, createTestDatabase, createTestProject, openSession, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

const example = (name: string) => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
let database: TestDatabase;

beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(() => database.drop());

// The target as a test can compare it: its catalog and the row count of every table.
async function readTarget(): Promise<{ catalog: unknown; rows: Record<string, number> }> {
  const client = await openSession(database.url);
  try {
    const catalog = await readCatalogSnapshot(client, { excludeSchemas: [], excludeTables: [] });
    const tables = await client.query<{ name: string }>(
      "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    const rows: Record<string, number> = {};
    for (const { name } of tables.rows) rows[name] = Number((await client.query<{ count: string }>(`SELECT count(*) AS count FROM ${name}`)).rows[0]!.count);
    return { catalog, rows };
  } finally {
    await client.end();
  }
}

async function seedTarget(): Promise<void> {
  await database.query("CREATE TABLE rehearse_guard (id int PRIMARY KEY, note text)");
  await database.query("INSERT INTO rehearse_guard VALUES (1, 'one'), (2, 'two'), (3, 'three')");
}

async function databaseExists(name: string): Promise<boolean> {
  const admin = await openSession(ADMIN_URL);
  try {
    return (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

function rehearsalOf(stdout: string): RehearsalReport {
  return JSON.parse(stdout).projects[0].rehearsal as RehearsalReport;
}

describe("migrate rehearse on every example", () => {
  it.each(["sql-app", "prisma-app", "drizzle-app", "alembic-app"])(
    "applies the pending migrations of %s to a copy, reports durations and locks, and leaves the target untouched",
    async (name) => {
      await seedTarget();
      const before = await readTarget();
      const result = await runCli(["rehearse", "--json"], { cwd: example(name), env: { DIRECT_URL: database.url }, timeoutMs: 180_000 });
      expect(result.exitCode, result.stderr + result.stdout).toBe(0);
      const rehearsal = rehearsalOf(result.stdout);
      expect(rehearsal.method).toBe("template");
      expect(rehearsal.migrations.length).toBeGreaterThanOrEqual(3);
      for (const migration of rehearsal.migrations) {
        expect(migration, migration.id).toMatchObject({ outcome: "applied" });
        expect(migration.durationMs, migration.id).toBeTypeOf("number");
        expect(migration.lockSource, migration.id).not.toBe("unknown");
      }
      const locks = rehearsal.migrations.flatMap((migration) => migration.locks);
      expect(locks.some((lock) => lock.mode === "ACCESS EXCLUSIVE")).toBe(true);
      expect(await readTarget()).toEqual(before);
      expect(await databaseExists(rehearsal.copy)).toBe(false);
    },
    180_000,
  );
});

describe("migrate rehearse", () => {
  let project: TestProject;
  beforeEach(() => {
    project = createTestProject();
    cpSync(`${example("sql-app")}/migrations`, `${project.dir}/migrations`, { recursive: true });
  });
  afterEach(() => project.remove());

  it("copies with pg_dump | pg_restore while another session is on the target, and reports rewrites and rows", async () => {
    const applied = await runCli(["up", "--to", "0002_create_books"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(applied.exitCode, applied.stderr).toBe(0);
    await database.query("INSERT INTO authors (name, email) VALUES ('Ann', 'ann@example.com'), ('Bob', 'bob@example.com')");
    project.write("migrations/0004_authors_score.sql", "ALTER TABLE authors ADD COLUMN score int NOT NULL DEFAULT (random() * 10)::int;\nUPDATE authors SET name = upper(name);\n");
    const before = await readTarget();
    const other = await openSession(database.url);
    try {
      const result = await runCli(["rehearse", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.urlWithPassword("rehearse-pw") } });
      expect(result.exitCode, result.stderr + result.stdout).toBe(0);
      expect(result.stdout + result.stderr).not.toContain("rehearse-pw");
      const rehearsal = rehearsalOf(result.stdout);
      expect(rehearsal).toMatchObject({ method: "dump", withData: true });
      expect(rehearsal.reason).toContain("other session");
      expect(rehearsal.migrations.map((migration) => migration.id)).toEqual(["0003_index_books_title", "0004_authors_score"]);
      const [index, score] = rehearsal.migrations;
      const withoutSamples = (locks: Array<Record<string, unknown>>) => locks.map(({ isObserved: _seen, ...lock }) => lock);
      expect(withoutSamples(index!.locks)).toEqual([{ line: 2, statement: "IndexStmt", relation: "books", mode: "SHARE UPDATE EXCLUSIVE" }]);
      expect(withoutSamples(score!.locks)).toEqual([
        { line: 1, statement: "AlterTableStmt", relation: "authors", mode: "ACCESS EXCLUSIVE" },
        { line: 2, statement: "UpdateStmt", relation: "authors", mode: "ROW EXCLUSIVE" },
      ]);
      expect(score!.tablesRewritten).toEqual(["public.authors"]);
      expect(score!.rowsChanged).toEqual([{ table: "public.authors", inserted: 0, updated: 2, deleted: 0 }]);
      const human = await runCli(["rehearse"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
      expect(human.stdout).toMatch(/lock ACCESS EXCLUSIVE on authors( \(seen in pg_locks\))?  \(line 1, AlterTableStmt\)/);
      expect(human.stdout).toContain("rewrote table public.authors");
      expect(human.stdout).toContain("the target was not changed");
    } finally {
      await other.end();
    }
    expect(await readTarget()).toEqual(before);
  });

  it("confirms a lock held long enough with a sample of pg_locks", async () => {
    project.write("migrations/0004_slow.sql", "ALTER TABLE authors ADD COLUMN nickname text;\nSELECT pg_sleep(1);\n");
    const result = await runCli(["rehearse", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    const slow = rehearsalOf(result.stdout).migrations.find((migration) => migration.id === "0004_slow")!;
    expect(slow.locks).toEqual([{ line: 1, statement: "AlterTableStmt", relation: "authors", mode: "ACCESS EXCLUSIVE", isObserved: true }]);
    expect(slow.observedLocks).toContainEqual({ relation: "public.authors", mode: "ACCESS EXCLUSIVE" });
  });

  it("with --no-data copies the schema and the history only", async () => {
    const applied = await runCli(["up", "--to", "0001_create_authors"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(applied.exitCode, applied.stderr).toBe(0);
    await database.query("INSERT INTO authors (name, email) VALUES ('Ann', 'ann@example.com')");
    const before = await readTarget();
    const result = await runCli(["rehearse", "--no-data", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    const rehearsal = rehearsalOf(result.stdout);
    expect(rehearsal).toMatchObject({ method: "dump", withData: false });
    expect(rehearsal.migrations.map((migration) => migration.id)).toEqual(["0002_create_books", "0003_index_books_title"]);
    expect(await readTarget()).toEqual(before);
  });

  it("reports a migration that fails on the copy, and still leaves the target untouched", async () => {
    project.write("migrations/0004_broken.sql", "ALTER TABLE nowhere ADD COLUMN x int;\n");
    const before = await readTarget();
    const result = await runCli(["rehearse", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode).toBe(1);
    const rehearsal = rehearsalOf(result.stdout);
    expect(rehearsal.migrations.at(-1)).toMatchObject({ id: "0004_broken", outcome: "failed" });
    expect(rehearsal.migrations.at(-1)!.error).toContain('relation "nowhere" does not exist');
    expect(await readTarget()).toEqual(before);
    expect(await databaseExists(rehearsal.copy)).toBe(false);
  });
});
