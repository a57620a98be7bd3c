import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

const PASSWORD = "Pooled-secret-93x";
let database: TestDatabase;
let project: TestProject;

beforeAll(async () => {
  database = await createTestDatabase();
  project = createTestProject({ "migrations/0001_t.sql": "CREATE TABLE t (id int);\n" });
});
afterAll(async () => {
  project.remove();
  await database.drop();
});

describe("the direct-URL policy at the command line", () => {
  const pooled: Array<[string, string, string]> = [
    ["neon-pooler-host", "DIRECT_URL", `postgresql://app:${PASSWORD}@ep-calm-sea-123456-pooler.eu-central-1.aws.neon.tech/neondb`],
    ["supabase-pooler-host", "DIRECT_URL", `postgresql://postgres.abc:${PASSWORD}@aws-0-eu-central-1.pooler.supabase.com:5432/postgres`],
    ["supabase-pooler-port", "DATABASE_URL", `postgresql://postgres:${PASSWORD}@127.0.0.1:6543/postgres`],
    ["pgbouncer-parameter", "DIRECT_URL", `postgresql://postgres:${PASSWORD}@127.0.0.1:5432/x?pgbouncer=true`],
  ];
  it.each(pooled)("refuses rule %s with exit 2, the rule's name and no password", async (rule, variable, url) => {
    for (const args of [["up"], ["status", "--json"]]) {
      const result = await runCli(args, { cwd: project.dir, env: { [variable]: url } });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`rule "${rule}"`);
      expect(result.stderr).toContain('Set "DIRECT_URL"');
      expect(result.stdout + result.stderr).not.toContain(PASSWORD);
      if (args.includes("--json")) expect(JSON.parse(result.stdout).error).toMatchObject({ code: "URL_POOLED" });
    }
  });

  it("shows Neon's direct host but does not switch to it", async () => {
    const result = await runCli(["up"], { cwd: project.dir, env: { DIRECT_URL: pooled[0]![2] } });
    expect(result.stderr).toContain("postgresql://app:***@ep-calm-sea-123456.eu-central-1.aws.neon.tech:5432/neondb");
  });

  it("refuses a URL the configuration marks as pooled", async () => {
    const marked = createTestProject({
      "migrate.config.json": JSON.stringify({ projects: [{ name: "app", stack: "sql", dir: "migrations", pooled: true }] }),
      "migrations/0001_t.sql": "CREATE TABLE t (id int);\n",
    });
    try {
      const result = await runCli(["up"], { cwd: marked.dir, env: { DIRECT_URL: database.urlWithPassword(PASSWORD) } });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('rule "marked-pooled"');
      expect(await listTables(database)).toEqual([]);
    } finally {
      marked.remove();
    }
  });

  it("runs over a pooled-looking URL only with the loud override", async () => {
    const url = `${database.urlWithPassword(PASSWORD)}?pgbouncer=true`;
    const result = await runCli(["up", "--allow-pooled-url"], { cwd: project.dir, env: { DIRECT_URL: url } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("warning: --allow-pooled-url");
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    expect(await listTables(database)).toEqual(["t"]);
  });

  it("uses DATABASE_URL alone with a notice when it is not pooled", async () => {
    const result = await runCli(["status"], { cwd: project.dir, env: { DATABASE_URL: database.urlWithPassword(PASSWORD) } });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/^warning: .*"DIRECT_URL" is not set: using "DATABASE_URL"/m);
    expect(result.stdout).not.toContain(PASSWORD);
  });

  it("names the variables it looked at when no URL is set", async () => {
    const result = await runCli(["status"], { cwd: project.dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('neither "DIRECT_URL" nor "DATABASE_URL" is set');
  });

  it("says which database it could not reach, without the password", async () => {
    const result = await runCli(["status"], {
      cwd: project.dir,
      env: { DIRECT_URL: `postgresql://postgres:${PASSWORD}@127.0.0.1:1/nowhere` },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('Could not connect to "postgresql://postgres:***@127.0.0.1:1/nowhere" (from "DIRECT_URL")');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });
});
