import { spawn } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  createTestProject,
  listColumns,
  listTables,
  openSession,
  runCli,
  type CliResult,
  type TestDatabase,
  type TestProject,
} from "@polymigrate/testing";

const PASSWORD = "Pw-7d1e-never-print";

function expectNoPassword(result: CliResult): void {
  expect(result.stdout).not.toContain(PASSWORD);
  expect(result.stderr).not.toContain(PASSWORD);
}

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "migrations/0001_create_users.sql": "CREATE TABLE users (\n  id serial PRIMARY KEY,\n  email text NOT NULL UNIQUE\n);\n",
    "migrations/0001_create_users.down.sql": "DROP TABLE users;\n",
    "migrations/0002_create_posts.sql":
      "CREATE TABLE posts (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES users (id));\n\nCREATE INDEX posts_author_idx ON posts (author_id);\n",
    "migrations/0002_create_posts.down.sql": "DROP TABLE posts;\n",
  });
});

afterEach(async () => {
  project.remove();
  await database.drop();
});

function migrate(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: database.urlWithPassword(PASSWORD), ...env } });
}

describe("the plain-SQL stack through the migrate CLI", () => {
  it("applies, reports and undoes migrations", async () => {
    const before = await migrate(["status"]);
    expect(before.exitCode).toBe(0);
    expect(before.stdout).toMatch(/pending\s+0001_create_users/);
    expect(await listTables(database)).toEqual([]);

    const up = await migrate(["up"]);
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain("✓ 0001_create_users");
    expect(up.stdout).toContain("2 applied");
    expect(await listTables(database)).toEqual(["posts", "users"]);
    const rows = await database.query<{ id: string; checksum: string }>("SELECT id, checksum FROM polymigrate.sql_migrations ORDER BY id");
    expect(rows.map((row) => row.id)).toEqual(["0001_create_users", "0002_create_posts"]);
    expect(rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);

    const again = await migrate(["up"]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("Nothing to apply");

    const status = await migrate(["status", "--json"]);
    const report = JSON.parse(status.stdout);
    expect(report.projects[0].status.map((entry: { state: string }) => entry.state)).toEqual(["applied", "applied"]);

    const down = await migrate(["down"]);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain('Undoing "0002_create_posts"');
    expect(await listTables(database)).toEqual(["users"]);

    const toBase = await migrate(["down", "--to", "base"]);
    expect(toBase.exitCode).toBe(0);
    expect(await listTables(database)).toEqual([]);
    expect(await database.query("SELECT * FROM polymigrate.sql_migrations")).toEqual([]);

    for (const result of [before, up, again, status, down, toBase]) expectNoPassword(result);
  });

  it("leaves nothing of a failing migration, reports SQLSTATE and file:line, and exits 1", async () => {
    project.write(
      "migrations/0003_broken.sql",
      "ALTER TABLE users ADD COLUMN name text;\n\nUPDATE users\n   SET name = missing_column;\n",
    );
    project.write("migrations/0004_after.sql", "CREATE TABLE after_broken (id int);\n");
    const result = await migrate(["up"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('✗ 0003_broken failed: column "missing_column" does not exist (SQLSTATE 42703)');
    expect(result.stderr).toContain("at migrations/0003_broken.sql:4");
    expect(result.stderr).toContain("Not run: 0004_after");
    expect(await listColumns(database, "users")).toEqual(["id integer", "email text"]);
    expect(await listTables(database)).toEqual(["posts", "users"]);

    const json = await migrate(["up", "--json"]);
    expect(json.exitCode).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.outcome).toBe("failed");
    const failed = report.projects[0].migrations.find((migration: { id: string }) => migration.id === "0003_broken");
    expect(failed.error).toMatchObject({ sqlState: "42703", line: 4, statement: "UPDATE users\n   SET name = missing_column" });
    expect(failed.error.file).toMatch(/migrations\/0003_broken\.sql$/);
    expect(report.projects[0].migrations.at(-1)).toMatchObject({ id: "0004_after", outcome: "skipped" });
    expectNoPassword(result);
    expectNoPassword(json);
  });

  it("runs a migration with CREATE INDEX CONCURRENTLY outside a transaction", async () => {
    project.write("migrations/0003_index.sql", "CREATE INDEX CONCURRENTLY users_email_lower_idx ON users (lower(email));\n");
    const result = await migrate(["up", "--json"]);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.projects[0].migrations.at(-1)).toMatchObject({ id: "0003_index", outcome: "applied", transactional: false });
    const indexes = await database.query("SELECT indexname FROM pg_indexes WHERE indexname = 'users_email_lower_idx'");
    expect(indexes).toHaveLength(1);
  });

  it("refuses to undo a migration without a down, undoing nothing", async () => {
    project.write("migrations/0003_no_down.sql", "CREATE TABLE kept (id int);\n");
    expect((await migrate(["up"])).exitCode).toBe(0);
    const result = await migrate(["down", "--steps", "2"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Cannot undo "0003_no_down": no down migration');
    expect(await listTables(database)).toEqual(["kept", "posts", "users"]);
  });

  it("refuses to apply after an applied migration's file changed, until allowed", async () => {
    expect((await migrate(["up"])).exitCode).toBe(0);
    project.write("migrations/0001_create_users.sql", "CREATE TABLE users (id bigserial PRIMARY KEY);\n");
    project.write("migrations/0003_more.sql", "CREATE TABLE more (id int);\n");
    const refused = await migrate(["up"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('Migration "0001_create_users" was changed after it was applied');
    expect(await listTables(database)).toEqual(["posts", "users"]);
    const allowed = await migrate(["up", "--allow", "changed"]);
    expect(allowed.exitCode).toBe(0);
    expect(await listTables(database)).toEqual(["more", "posts", "users"]);
  });

  it("creates the next numbered migration and its down", async () => {
    const result = await migrate(["create", "Add Comments"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Created 0003_add_comments");
    expect(result.stdout).toContain("migrations/0003_add_comments.down.sql");
  });

  it("prints plan and history, and resolves a migration by hand", async () => {
    const plan = await migrate(["plan"]);
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain("-- 0002_create_posts (migrations/0002_create_posts.sql)");
    expect(plan.stdout).toContain("CREATE INDEX posts_author_idx ON posts (author_id);");
    await migrate(["up", "--to", "0001_create_users"]);
    expect(await listTables(database)).toEqual(["users"]);
    const resolved = await migrate(["resolve", "--applied", "0002_create_posts"]);
    expect(resolved.exitCode).toBe(0);
    const history = await migrate(["history"]);
    expect(history.stdout).toMatch(/0001_create_users\s+applied/);
    expect(history.stdout).toMatch(/0002_create_posts\s+applied/);
    expect(await listTables(database)).toEqual(["users"]);
  });

  it("waits for a lock held from psql, then names its holder and runs nothing", async () => {
    // The real psql client holds the database's migration lock in its session while it sleeps.
    const psql = spawn("psql", [database.url, "-X", "-q", "-c", `SELECT pg_advisory_lock(${0x706d6967}, 0)`, "-c", "SELECT pg_sleep(30)"], {
      stdio: "ignore",
    });
    try {
      const watcher = await openSession(database.url, "watcher");
      for (let polls = 0; polls < 100; polls++) {
        const held = await watcher.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted", [0x706d6967]);
        if (held.rowCount === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await watcher.end();
      const started = Date.now();
      const result = await migrate(["up", "--lock-wait", "2s"]);
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(2000);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/Another migration holds the lock on this database: pid \d+ \("psql" from 127\.0\.0\.1/);
      expect(result.stderr).toContain("last query: SELECT pg_sleep(30)");
      expect(result.stdout).toContain("waiting for the migration lock, held by pid");
      expect(await listTables(database)).toEqual([]);
    } finally {
      psql.kill();
    }
  });
});
