import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";
import { CONFIG_SCHEMA_FILE, renderConfigJsonSchema } from "../src/config-schema.js";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "web/0001_pages.sql": "CREATE TABLE pages (id int);\n",
    "billing/0001_invoices.sql": "CREATE TABLE invoices (id int);\n",
  });
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

// Two projects on one database; `second` is merged into the second one, `top` into the configuration.
function configure(second: Record<string, unknown>, top: Record<string, unknown> = {}): void {
  const projects = [
    { name: "web", stack: "sql", dir: "web", settings: { table: "web_migrations" } },
    { name: "billing", stack: "sql", dir: "billing", settings: { table: "billing_migrations" }, ...second },
  ];
  project.write("migrate.config.json", JSON.stringify({ ...top, projects }, null, 2));
}

async function refused(args: string[] = ["up"]) {
  const result = await runCli(args, { cwd: project.dir, env: { DIRECT_URL: database.url } });
  expect(result.exitCode, result.stderr).toBe(2);
  expect(result.stderr).toContain(`The configuration "${project.dir}/migrate.config.json" is invalid:`);
  expect(result.stderr).toContain("Fix the file; nothing was run.");
  expect(result.stderr).not.toContain("unexpected error");
  expect(await listTables(database)).toEqual([]);
  return result.stderr;
}

describe("the configuration's schema, checked before any work", () => {
  it('refuses "prodution": true in the second project, suggesting production, with nothing applied to the first', async () => {
    configure({ prodution: true });
    expect(await refused()).toContain('projects[1] has the unknown key "prodution": did you mean "production"?');
    const json = await runCli(["up", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: "refused", error: { code: "CONFIG_INVALID" } });
  });

  it("refuses it for every command and with --project naming the other project", async () => {
    configure({ urlenv: "BILLING_URL" });
    for (const args of [["status"], ["up", "--project", "web"], ["reset", "--force"]]) {
      expect(await refused(args)).toContain('projects[1] has the unknown key "urlenv": did you mean "urlEnv"?');
    }
  });

  it("lists every problem at once: a top-level typo, wrong types, a negative count, a stack's settings", async () => {
    configure({ lockTimeout: true, retries: -1, settings: { tabel: "x" } }, { lnt: { disable: [] }, retries: "3" });
    const stderr = await refused();
    for (const problem of [
      'The configuration has the unknown key "lnt": did you mean "lint"?',
      'retries is "3"; use a whole number, 0 for none',
      'projects[1].settings has the unknown key "tabel": did you mean "table"?',
      "projects[1].lockTimeout is true; use a number with a unit",
      "projects[1].retries is -1; use a whole number, 0 for none",
    ]) {
      expect(stderr).toContain(problem);
    }
  });

  it("checks a stack adapter's own settings with the schema it exports", async () => {
    project.write("prisma/schema.prisma", 'datasource db {\n  provider = "postgresql"\n}\n');
    configure({ name: "api", stack: "prisma", dir: ".", settings: { schemapath: "prisma/schema.prisma", historySchema: 5 } });
    const stderr = await refused();
    expect(stderr).toContain('projects[1].settings has the unknown key "schemapath": did you mean "schemaPath"?');
    configure({ name: "api", stack: "prisma", dir: ".", settings: { historySchema: 5 } });
    expect(await refused()).toContain("projects[1].settings.historySchema is 5; expected a string");
  });

  it('accepts a "$schema" key and runs', async () => {
    configure({}, { $schema: "./node_modules/@polymigrate/cli/migrate.schema.json", lockTimeout: "2s", lint: { disable: ["prefer-robust-stmts"] } });
    const result = await runCli(["up"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await listTables(database)).toEqual(["invoices", "pages"]);
  });
});

describe(CONFIG_SCHEMA_FILE, () => {
  it("is the JSON Schema generated from the zod schema (regenerate: pnpm --filter @polymigrate/cli run schema)", async () => {
    const committed = readFileSync(new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url), "utf8");
    expect(committed).toBe(await renderConfigJsonSchema());
  });

  it("is published with the package", () => {
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { files: string[]; exports: Record<string, unknown> };
    expect(manifest.files).toContain(CONFIG_SCHEMA_FILE);
    expect(manifest.exports[`./${CONFIG_SCHEMA_FILE}`]).toBe(`./${CONFIG_SCHEMA_FILE}`);
  });
});
