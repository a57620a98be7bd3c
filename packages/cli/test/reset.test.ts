import { spawn } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  collectOutput,
  createTestDatabase,
  createTestProject,
  listTables,
  migrateBin,
  runCli,
  type CliResult,
  type TestDatabase,
  type TestProject,
} from "@polymigrate/testing";

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
    const result = await runCli(["reset", "--force", "--json"], { cwd: project.dir, env });
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
    const confirmed = await runCli(["reset", "--force", "--confirm", database.name], { cwd: project.dir, env });
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect(await database.query("SELECT id FROM users")).toEqual([]);
  });

  it("is refused off a terminal without --force, with nothing dropped", async () => {
    const env = { DIRECT_URL: database.url };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    await database.query("INSERT INTO users VALUES (3)");
    for (const args of [["reset"], ["reset", "--json"]]) {
      const refused = await runCli(args, { cwd: project.dir, env });
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toContain(`"migrate reset" drops every schema of database "${database.name}"`);
      expect(refused.stderr).toContain("off a terminal, it needs --force. Nothing was dropped.");
    }
    expect(await listTables(database)).toEqual(["users"]);
    expect(await listTables(database, "blog")).toEqual(["posts"]);
    expect(await database.query("SELECT id FROM users")).toEqual([{ id: 3 }]);
  });

  it("asks on a terminal, and drops nothing unless the answer is yes", async () => {
    const env = { DIRECT_URL: database.url };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    await database.query("INSERT INTO users VALUES (4)");
    const declined = await resetOnTerminal("n", env);
    expect(declined.exitCode, declined.stdout).toBe(2);
    expect(declined.stdout).toContain(`drops every schema of database "${database.name}"`);
    expect(declined.stdout).toContain("Reset? [y/N]");
    expect(declined.stdout).toContain("Reset not confirmed. Nothing was dropped.");
    expect(await database.query("SELECT id FROM users")).toEqual([{ id: 4 }]);
    const accepted = await resetOnTerminal("y", env);
    expect(accepted.exitCode, accepted.stdout).toBe(0);
    expect(await database.query("SELECT id FROM users")).toEqual([]);
    expect(await listTables(database, "blog")).toEqual(["posts"]);
  });
});

// Runs "migrate reset" on a pseudo-terminal (util-linux's script), answering the prompt once it is shown; the
// terminal's output (stdout and stderr together) comes back as stdout.
function resetOnTerminal(answer: string, env: Record<string, string>): Promise<CliResult> {
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(migrateBin())} reset`;
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    cwd: project.dir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let shown = "";
  let answered = false;
  child.stdout.on("data", (chunk: Buffer) => {
    shown += chunk.toString();
    if (!answered && shown.includes("[y/N]")) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  });
  return collectOutput(child, 60_000);
}
