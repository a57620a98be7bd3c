import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

let web: TestDatabase;
let billing: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  [web, billing] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  project = createTestProject({
    "migrate.config.ts": [
      'import { defineConfig } from "@polymigrate/core";',
      "export default defineConfig({",
      "  projects: [",
      '    { name: "web", stack: "sql", dir: "web/migrations", urlEnv: "WEB_DIRECT_URL" },',
      '    { name: "billing", stack: "sql", dir: "billing/migrations", urlEnv: "BILLING_DIRECT_URL" },',
      "  ],",
      "});",
    ].join("\n"),
    "web/migrations/0001_pages.sql": "CREATE TABLE pages (id int);\n",
    "billing/migrations/0001_invoices.sql": "CREATE TABLE invoices (id int);\n",
    "billing/migrations/0002_lines.sql": "CREATE TABLE lines (id int);\n",
  });
});
afterEach(async () => {
  project.remove();
  await Promise.all([web.drop(), billing.drop()]);
});

function env(): Record<string, string> {
  return { WEB_DIRECT_URL: web.urlWithPassword("web-pw-1"), BILLING_DIRECT_URL: billing.urlWithPassword("billing-pw-2") };
}

describe("a configuration with two projects on two databases", () => {
  it("migrates each into its own database and shows both in one status table", async () => {
    const up = await runCli(["up"], { cwd: project.dir, env: env() });
    expect(up.exitCode).toBe(0);
    expect(await listTables(web)).toEqual(["pages"]);
    expect(await listTables(billing)).toEqual(["invoices", "lines"]);
    const status = await runCli(["status"], { cwd: project.dir, env: env() });
    expect(status.exitCode).toBe(0);
    const lines = status.stdout.split("\n");
    expect(lines[0]).toMatch(/^PROJECT\s+STACK\s+DATABASE\s+APPLIED\s+PENDING\s+PROBLEMS$/);
    expect(lines[1]).toMatch(/^web\s+sql\s+postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/pm_test_\w+\s+1\s+0\s+none$/);
    expect(lines[2]).toMatch(/^billing\s+sql\s+\S+\s+2\s+0\s+none$/);
    for (const result of [up, status]) expect(result.stdout + result.stderr).not.toMatch(/web-pw-1|billing-pw-2/);
  });

  it("runs one project with --project, and names the projects when the name is wrong", async () => {
    const one = await runCli(["up", "--project", "billing"], { cwd: project.dir, env: env() });
    expect(one.exitCode).toBe(0);
    expect(await listTables(web)).toEqual([]);
    const wrong = await runCli(["up", "--project", "nope"], { cwd: project.dir, env: env() });
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain('There is no project "nope". The projects are "web", "billing".');
  });

  it("refuses every project when one project's URL is refused, before any work", async () => {
    const result = await runCli(["up"], {
      cwd: project.dir,
      env: { ...env(), BILLING_DIRECT_URL: "postgresql://u:pw@127.0.0.1:6543/billing" },
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Project "billing": Refusing the URL in "BILLING_DIRECT_URL"');
    expect(await listTables(web)).toEqual([]);
  });

  it("explains an invalid configuration", async () => {
    project.write("migrate.config.ts", 'export default { projects: [{ name: "x", stack: "flyway", dir: "m" }] };\n');
    const result = await runCli(["status"], { cwd: project.dir, env: env() });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('projects[0].stack is "flyway"; use one of "sql", "prisma", "drizzle", "alembic"');
  });

  it("says how to start when the folder has no project", async () => {
    const empty = createTestProject({ "notes.txt": "nothing here" });
    try {
      const result = await runCli(["status"], { cwd: empty.dir, env: env() });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain("No migrate.config.* in");
      expect(result.stderr).toContain("create migrate.config.ts");
    } finally {
      empty.remove();
    }
  });
});
