import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "migrations/0001_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
    "migrations/0002_posts.sql": "CREATE SCHEMA blog;\nCREATE TABLE blog.posts (id int PRIMARY KEY, author int REFERENCES users (id));\n",
  });
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

describe("migrate reset", () => {
  it("drops what the database holds and applies every migration again, keeping the ledger", async () => {
    const env = { DIRECT_URL: database.urlWithPassword("reset-pw") };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    await database.query("INSERT INTO users VALUES (1); CREATE TABLE scratch (id int);");
    const result = await runCli(["reset", "--json"], { cwd: project.dir, env });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout).projects[0];
    expect(report.droppedSchemas).toEqual(["blog", "public"]);
    expect(report.migrations.map((migration: { id: string; outcome: string }) => `${migration.id} ${migration.outcome}`)).toEqual([
      "0001_users applied",
      "0002_posts applied",
    ]);
    expect(await listTables(database)).toEqual(["users"]);
    expect(await listTables(database, "blog")).toEqual(["posts"]);
    expect(await database.query("SELECT * FROM users")).toEqual([]);
    const ledger = await database.query<{ command: string }>("SELECT command FROM polymigrate.ledger ORDER BY 1");
    expect(ledger.map((row) => row.command)).toContain("up");
    expect(result.stdout + result.stderr).not.toContain("reset-pw");
  });

  it("is refused on production unless --confirm names the database", async () => {
    const env = { DIRECT_URL: database.url, MIGRATE_ENV: "production" };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    await database.query("INSERT INTO users VALUES (7)");
    const refused = await runCli(["reset"], { cwd: project.dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`"migrate reset" on database "${database.name}" needs --confirm ${database.name}`);
    expect(await database.query("SELECT id FROM users")).toEqual([{ id: 7 }]);
    const confirmed = await runCli(["reset", "--confirm", database.name], { cwd: project.dir, env });
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect(await database.query("SELECT id FROM users")).toEqual([]);
  });
});
