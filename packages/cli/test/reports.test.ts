import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { marked } from "marked";
import { parse as parseYaml } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, runCli, type CliResult, type TestDatabase, type TestProject } from "@polymigrate/testing";

const PASSWORD = "report-secret-pw";
const JUNIT_XSD = fileURLToPath(new URL("./fixtures/junit-jenkins.xsd", import.meta.url));
const WORKFLOW = fileURLToPath(new URL("../../../examples/github-actions/migrate.yml", import.meta.url));

const CREATE_USERS = "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  email text NOT NULL\n);\n";
const FAILING = "-- Adds the orders table, then backfills it.\nCREATE TABLE orders (id bigint PRIMARY KEY);\nINSERT INTO orders SELECT id FROM missing_table;\n";

let database: TestDatabase;
let project: TestProject;
let scratch: string;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({ "migrations/0001_create_users.sql": CREATE_USERS });
  scratch = mkdtempSync(join(tmpdir(), "pm-reports-"));
});

afterEach(async () => {
  project.remove();
  rmSync(scratch, { recursive: true, force: true });
  await database.drop();
});

function migrate(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: database.urlWithPassword(PASSWORD), ...env } });
}

/** Validates XML against the JUnit schema with libxml2's xmllint; returns its verdict. */
function validateJunit(xml: string): { valid: boolean; output: string } {
  const file = join(scratch, `junit-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  try {
    const output = execFileSync("xmllint", ["--noout", "--schema", JUNIT_XSD, file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { valid: true, output };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    return { valid: false, output: `${failure.stdout ?? ""}${failure.stderr ?? ""}` };
  }
}

/** The Markdown rendered to HTML by a real Markdown library (GitHub-flavoured), parsed into a DOM-free structure. */
function renderHtml(markdown: string): string {
  return marked.parse(markdown, { gfm: true, async: false }) as string;
}

function tableAfter(html: string, heading: string): { header: string[]; rows: string[][] } {
  const start = html.indexOf(heading);
  expect(start, `heading ${heading} in:\n${html}`).toBeGreaterThanOrEqual(0);
  const table = /<table>([\s\S]*?)<\/table>/.exec(html.slice(start))?.[1];
  expect(table, `a table after ${heading}`).toBeDefined();
  const cells = (row: string, tag: string) => [...row.matchAll(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`, "g"))].map((match) => match[1]!.trim());
  const rows = [...table!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((match) => match[1]!);
  return { header: cells(rows[0]!, "th"), rows: rows.slice(1).map((row) => cells(row, "td")) };
}

/** A project without a configuration is named after its folder. */
function projectName(): string {
  return basename(project.dir);
}

function expectNoPassword(...texts: string[]): void {
  for (const text of texts) expect(text).not.toContain(PASSWORD);
}

// An applied table with a row, and a pending migration that locks it: a lint error (and two more) on an existing table.
async function pendingRiskyMigration(): Promise<void> {
  expect((await migrate(["up"])).exitCode).toBe(0);
  // Above the default hazard threshold (10,000 rows), so that a plain CREATE INDEX on it is an error.
  await database.query("INSERT INTO users (id, email) SELECT g, 'user' || g FROM generate_series(1, 20000) AS g");
  await database.query("ANALYZE users");
  project.write("migrations/0002_index_email.sql", "-- Speeds up the login query.\nCREATE INDEX users_email_idx ON users (email);\n");
}

describe("--report markdown", () => {
  it("prints a summary of a successful up after the human output, which renders as headings, a status table and code spans", async () => {
    project.write("migrations/0002_create_posts.sql", "CREATE TABLE posts (id bigint PRIMARY KEY, title text);\n");
    const result = await migrate(["up", "--report", "markdown"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const human = result.stdout.indexOf("2 applied");
    const markdownAt = result.stdout.indexOf("## `migrate up`: ✅ success");
    expect(human).toBeGreaterThanOrEqual(0);
    expect(markdownAt).toBeGreaterThan(human);
    const markdown = result.stdout.slice(markdownAt);

    const html = renderHtml(markdown);
    expect(html).toContain("<h2><code>migrate up</code>: ✅ success</h2>");
    const status = tableAfter(html, "<h2>");
    // up lints the pending migrations first: its findings count in the Lint column.
    expect(status.header).toEqual(["Project", "Stack", "Database", "Outcome", "Applied", "Failed", "Not run", "Lint", "Time"]);
    expect(status.rows).toHaveLength(1);
    const [name, stack, databaseCell, outcome, applied, failed, notRun] = status.rows[0]!;
    expect(name).toBe(projectName());
    expect(stack).toBe("<code>sql</code>");
    expect(databaseCell).toContain(`***@127.0.0.1:5432/${database.name}`);
    expect([outcome, applied, failed, notRun]).toEqual(["✅ success", "2", "0", "0"]);

    expect(html).toContain(`<h3>${projectName()} (sql)</h3>`);
    const migrations = tableAfter(html, "<h4>Migrations</h4>");
    expect(migrations.header).toEqual(["Migration", "Outcome", "Time", "In a transaction", "Attempts"]);
    expect(migrations.rows.map((row) => [row[0], row[1], row[3]])).toEqual([
      ["<code>0001_create_users</code>", "✅ applied", "yes"],
      ["<code>0002_create_posts</code>", "✅ applied", "yes"],
    ]);
    for (const row of migrations.rows) expect(row[2]).toMatch(/^\d+ ms$|^\d+\.\d s$/);
    expectNoPassword(result.stdout, result.stderr);
  });

  it("shows a failed migration with its SQLSTATE, file:line and statement, and the not-run ones", async () => {
    project.write("migrations/0002_orders.sql", FAILING);
    project.write("migrations/0003_later.sql", "CREATE TABLE later (id bigint PRIMARY KEY);\n");
    const file = join(scratch, "summary.md");
    const result = await migrate(["up", "--report", "markdown", "--report-file", file]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).not.toContain("## `migrate up`");
    const markdown = readFileSync(file, "utf8");
    const html = renderHtml(markdown);
    expect(html).toContain("<h2><code>migrate up</code>: ❌ failed</h2>");
    expect(tableAfter(html, "<h2>").rows[0]!.slice(3, 7)).toEqual(["❌ failed", "1", "1", "1"]);
    expect(tableAfter(html, "<h4>Migrations</h4>").rows.map((row) => row.slice(0, 2))).toEqual([
      ["<code>0001_create_users</code>", "✅ applied"],
      ["<code>0002_orders</code>", "❌ failed"],
      ["<code>0003_later</code>", "⏭️ not run"],
    ]);
    expect(html).toContain("<h4>❌ <code>0002_orders</code> failed</h4>");
    expect(html).toContain("<li><strong>SQLSTATE:</strong> <code>42P01</code></li>");
    expect(html).toContain("<li><strong>At:</strong> <code>migrations/0002_orders.sql:3</code></li>");
    expect(html).toContain("<li><strong>Error:</strong> relation &quot;missing_table&quot; does not exist</li>");
    expect(html).toContain('<pre><code class="language-sql">INSERT INTO orders SELECT id FROM missing_table');
    expectNoPassword(markdown, result.stdout, result.stderr);
  });

  it("appends to $GITHUB_STEP_SUMMARY when it is set, keeping what earlier steps wrote, and leaves stdout to the human output", async () => {
    const summary = join(scratch, "step-summary.md");
    writeFileSync(summary, "# Earlier step\n\n");
    const result = await migrate(["up", "--report", "markdown"], { GITHUB_STEP_SUMMARY: summary });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).not.toContain("## `migrate up`");
    project.write("migrations/0002_create_posts.sql", "CREATE TABLE posts (id bigint PRIMARY KEY);\n");
    expect((await migrate(["up", "--report", "markdown"], { GITHUB_STEP_SUMMARY: summary })).exitCode).toBe(0);
    const text = readFileSync(summary, "utf8");
    expect(text.startsWith("# Earlier step\n\n## `migrate up`: ✅ success")).toBe(true);
    expect(text.match(/^## `migrate up`/gm)).toHaveLength(2);
    const html = renderHtml(text);
    expect(html.match(/<table>/g)!.length).toBe(4);
    expect(html).toContain("<code>0002_create_posts</code>");
    expectNoPassword(text);
  });

  it("lists lint findings in a table with rule and file:line", async () => {
    await pendingRiskyMigration();
    const file = join(scratch, "lint.md");
    const result = await migrate(["lint", "--report", "markdown", "--report-file", file]);
    expect(result.exitCode).toBe(1);
    const html = renderHtml(readFileSync(file, "utf8"));
    expect(html).toContain("<h2><code>migrate lint</code>: ❌ failed</h2>");
    expect(tableAfter(html, "<h2>").header[7]).toBe("Lint");
    expect(tableAfter(html, "<h2>").rows[0]![7]).toMatch(/^1 error\(s\), \d+ warning\(s\)$/);
    const findings = tableAfter(html, "<h4>Lint findings</h4>");
    expect(findings.header).toEqual(["Level", "Rule", "Where", "Message"]);
    expect(findings.rows).toContainEqual([
      "❌ error",
      "<code>require-concurrent-index-creation</code>",
      "<code>migrations/0002_index_email.sql:2</code>",
      expect.stringContaining("table updates are blocked"),
    ]);
  });
});

describe("--report markdown for status and rehearse", () => {
  it("shows a hand-made schema change under status, with a table of what changed, and annotates it", async () => {
    expect((await migrate(["up"])).exitCode).toBe(0);
    await database.query("ALTER TABLE users ADD COLUMN nickname text");
    const file = join(scratch, "status.md");
    const result = await migrate(["status", "--report", "markdown", "--report-file", file], { GITHUB_ACTIONS: "true" });
    expect(result.exitCode, result.stderr).toBe(0);
    const html = renderHtml(readFileSync(file, "utf8"));
    expect(html).toContain("<h4>⚠️ Schema changed outside migrate</h4>");
    expect(html).toContain("accept it with <code>migrate baseline</code>");
    const drift = tableAfter(html, "<h4>⚠️ Schema changed outside migrate</h4>");
    expect(drift.header).toEqual(["Change", "Kind", "Name", "What"]);
    expect(drift.rows).toContainEqual(["added", "column", "<code>public.users.nickname</code>", expect.stringContaining("nickname")]);
    expect(result.stdout).toMatch(/^::warning title=schema drift \([^)]*\)::The schema changed outside migrate since .*nickname/m);
  });

  it("shows what rehearse did on the copy: each migration's time and locks", async () => {
    expect((await migrate(["up"])).exitCode).toBe(0);
    project.write("migrations/0002_add_name.sql", "ALTER TABLE users ADD COLUMN name text;\n");
    const file = join(scratch, "rehearse.md");
    const result = await migrate(["rehearse", "--report", "markdown", "--report-file", file]);
    expect(result.exitCode, result.stderr).toBe(0);
    const html = renderHtml(readFileSync(file, "utf8"));
    expect(html).toContain("<h2><code>migrate rehearse</code>: ✅ success</h2>");
    expect(html).toMatch(/On <code>[^<]+<\/code> \([^)]*dropped after the run\); the target was not changed\./);
    const rehearsal = tableAfter(html, "<h4>Rehearsal</h4>");
    expect(rehearsal.header).toEqual(["Migration", "Outcome", "Time", "Locks", "Rewrote", "Rows changed"]);
    expect(rehearsal.rows).toHaveLength(1);
    expect(rehearsal.rows[0]![0]).toBe("<code>0002_add_name</code>");
    expect(rehearsal.rows[0]![3]).toContain("ACCESS EXCLUSIVE on");
    expect(html).not.toContain("<h4>Migrations</h4>");
  });
});

describe("--report junit", () => {
  it("passes the JUnit schema for a successful up: one passing test case per migration", async () => {
    const result = await migrate(["up", "--report", "junit"]);
    expect(result.exitCode, result.stderr).toBe(0);
    // The XML is alone on stdout; the human output moved to stderr.
    expect(result.stdout.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')).toBe(true);
    expect(result.stderr).toContain("1 applied");
    const check = validateJunit(result.stdout);
    expect(check.valid, check.output).toBe(true);
    expect(result.stdout).toMatch(new RegExp(`<testsuite name="migrate up: ${projectName()}" tests="1" failures="0" errors="0" skipped="0"`));
    expect(result.stdout).toMatch(new RegExp(`<testcase name="0001_create_users" classname="${projectName()}" time="\\d+\\.\\d{3}"/>`));
    expectNoPassword(result.stdout, result.stderr);
  });

  it("passes the JUnit schema for a failing up: a failure with the SQLSTATE and file:line, skipped for what did not run", async () => {
    project.write("migrations/0002_orders.sql", FAILING);
    project.write("migrations/0003_later.sql", "CREATE TABLE later (id bigint PRIMARY KEY);\n");
    const file = join(scratch, "reports", "junit.xml");
    const result = await migrate(["up", "--report", "junit", "--report-file", file]);
    expect(result.exitCode).toBe(1);
    const xml = readFileSync(file, "utf8");
    const check = validateJunit(xml);
    expect(check.valid, check.output).toBe(true);
    expect(xml).toContain('tests="3" failures="1" errors="0" skipped="1"');
    expect(xml).toContain(
      `<testcase name="0002_orders" classname="${projectName()}"`,
    );
    expect(xml).toContain(
      '<failure message="relation &quot;missing_table&quot; does not exist (SQLSTATE 42P01) at migrations/0002_orders.sql:3" type="SQLSTATE 42P01">',
    );
    expect(xml).toContain("statement: INSERT INTO orders SELECT id FROM missing_table");
    expect(xml).toMatch(/<testcase name="0003_later"[^>]*>\s*<skipped message="not run: an earlier migration failed"\/>/);
    // The human output is on stdout as usual when the report goes to a file.
    expect(result.stdout).toContain("0001_create_users");
    expectNoPassword(xml, result.stdout, result.stderr);
  });

  it("passes the JUnit schema for lint: one test case per finding, a failure for an error", async () => {
    await pendingRiskyMigration();
    const result = await migrate(["lint", "--report", "junit"]);
    expect(result.exitCode).toBe(1);
    const check = validateJunit(result.stdout);
    expect(check.valid, check.output).toBe(true);
    expect(result.stdout).toContain(
      `<testcase name="require-concurrent-index-creation at migrations/0002_index_email.sql:2" classname="${projectName()}.lint.0002_index_email"`,
    );
    expect(result.stdout).toMatch(/<failure message="table &quot;public\.users&quot; has about 20k rows[^"]*During normal index creation[^"]*\(migrations\/0002_index_email\.sql:2\)" type="require-concurrent-index-creation">/);
    expect(result.stderr).toContain("require-concurrent-index-creation");
  });

  it("reports status too: applied migrations pass, pending ones are skipped, in Markdown and JUnit", async () => {
    expect((await migrate(["up"])).exitCode).toBe(0);
    project.write("migrations/0002_create_posts.sql", "CREATE TABLE posts (id bigint PRIMARY KEY);\n");
    const junit = await migrate(["status", "--report", "junit"]);
    expect(junit.exitCode, junit.stderr).toBe(0);
    const check = validateJunit(junit.stdout);
    expect(check.valid, check.output).toBe(true);
    expect(junit.stdout).toContain('tests="2" failures="0" errors="0" skipped="1"');
    expect(junit.stdout).toMatch(/<testcase name="0002_create_posts"[^>]*>\s*<skipped message="pending: not applied yet"\/>/);

    const file = join(scratch, "status.md");
    expect((await migrate(["status", "--report", "markdown", "--report-file", file])).exitCode).toBe(0);
    const html = renderHtml(readFileSync(file, "utf8"));
    expect(tableAfter(html, "<h2>").rows[0]!.slice(3, 7)).toEqual(["✅ success", "1", "0", "1"]);
    const migrations = tableAfter(html, "<h4>Migrations</h4>");
    expect(migrations.header).toEqual(["Migration", "State", "Applied at"]);
    expect(tableAfter(html, "<h2>").header).toEqual(["Project", "Stack", "Database", "Outcome", "Applied", "Failed", "Pending", "Time"]);
    expect(migrations.rows.map((row) => row.slice(0, 2))).toEqual([
      ["<code>0001_create_users</code>", "✅ applied"],
      ["<code>0002_create_posts</code>", "⏳ pending"],
    ]);
  });

  it("still writes a report, saying what stopped it, when the run stops before it has one (no database URL)", async () => {
    const junit = await runCli(["up", "--report", "junit"], { cwd: project.dir });
    expect(junit.exitCode).toBe(2);
    const check = validateJunit(junit.stdout);
    expect(check.valid, check.output).toBe(true);
    expect(junit.stdout).toContain('<testsuites name="migrate up" tests="1" failures="1" errors="0"');
    expect(junit.stdout).toMatch(/<failure message="No database URL[^"]*" type="URL_MISSING">/);
    expect(junit.stderr).toContain("migrate: No database URL");

    const summary = join(scratch, "summary.md");
    const markdown = await runCli(["up", "--report", "markdown"], { cwd: project.dir, env: { GITHUB_STEP_SUMMARY: summary, GITHUB_ACTIONS: "true" } });
    expect(markdown.exitCode).toBe(2);
    const html = renderHtml(readFileSync(summary, "utf8"));
    expect(html).toContain("<h2><code>migrate up</code>: ⛔ refused</h2>");
    expect(html).toMatch(/<blockquote>\s*<p><strong>Refused<\/strong> \(<code>URL_MISSING<\/code>\): No database URL/);
    expect(markdown.stdout).toMatch(/^::error title=migrate up refused \(URL_MISSING\)::No database URL/m);

    const sarif = await runCli(["lint", "--report", "sarif"], { cwd: project.dir, env: { DIRECT_URL: "not a url" } });
    expect(sarif.exitCode).toBe(2);
    const run = JSON.parse(sarif.stdout).runs[0];
    expect(run.results).toEqual([]);
    expect(run.invocations[0]).toMatchObject({ executionSuccessful: false, toolExecutionNotifications: [{ level: "error", descriptor: { id: "URL_INVALID" } }] });
  });

  it("keeps --json alone on stdout: a report then needs --report-file", async () => {
    const refused = await migrate(["up", "--json", "--report", "junit"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--json prints the JSON report alone on stdout, so "--report junit" needs somewhere else to go: add --report-file <path>.');
    const file = join(scratch, "with-json.xml");
    const result = await migrate(["up", "--json", "--report", "junit", "--report-file", file]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).command).toBe("up");
    expect(validateJunit(readFileSync(file, "utf8")).valid).toBe(true);
  });

  it("checks --report and --report-file on the command line", async () => {
    const wrong = await migrate(["status", "--report", "html"]);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain('--report takes markdown, junit or sarif, not "html".');
    const alone = await migrate(["status", "--report-file", "x.xml"]);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain("--report-file goes with --report");
  });

  it("is checked by a real schema: the validator refuses a document without the required attributes", () => {
    const check = validateJunit('<?xml version="1.0"?>\n<testsuites><testsuite name="x"><testcase classname="c"/></testsuite></testsuites>\n');
    expect(check.valid).toBe(false);
    expect(check.output).toContain("The attribute 'tests' is required but missing");
    expect(check.output).toContain("The attribute 'name' is required but missing");
  });
});

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region: { startLine: number; startColumn?: number } } }>;
  suppressions?: Array<{ kind: string; justification: string }>;
}

describe("--report sarif", () => {
  it("writes SARIF 2.1.0 for lint findings: rule, level, message and a location relative to the repository root", async () => {
    await pendingRiskyMigration();
    const result = await migrate(["lint", "--report", "sarif"]);
    expect(result.exitCode).toBe(1);
    const log = JSON.parse(result.stdout);
    expect(log.version).toBe("2.1.0");
    expect(log.$schema).toBe("https://json.schemastore.org/sarif-2.1.0.json");
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    expect(run.tool.driver.name).toBe("Polymigrate");
    expect(run.originalUriBaseIds.SRCROOT.uri).toMatch(/^file:\/\/\/.*\/$/);
    const rules = run.tool.driver.rules as Array<{ id: string; shortDescription: { text: string } }>;
    const results = run.results as SarifResult[];
    expect(results.length).toBeGreaterThan(0);
    for (const finding of results) {
      // Every result names a rule of the driver by id and index, a level SARIF knows, a message and a location.
      expect(rules[finding.ruleIndex]!.id).toBe(finding.ruleId);
      expect(["error", "warning", "note", "none"]).toContain(finding.level);
      expect(finding.message.text.length).toBeGreaterThan(0);
      const location = finding.locations[0]!.physicalLocation;
      expect(location.artifactLocation.uriBaseId).toBe("SRCROOT");
      expect(location.artifactLocation.uri).not.toMatch(/^\//);
      expect(Number.isInteger(location.region.startLine) && location.region.startLine >= 1).toBe(true);
    }
    const index = results.find((finding) => finding.ruleId === "require-concurrent-index-creation");
    expect(index).toMatchObject({
      level: "error",
      locations: [{ physicalLocation: { artifactLocation: { uri: "migrations/0002_index_email.sql" }, region: { startLine: 2, startColumn: 1 } } }],
    });
    expect(index!.suppressions).toBeUndefined();
    expectNoPassword(result.stdout, result.stderr);
  });

  it("places results relative to the git repository's root, or to $GITHUB_WORKSPACE, when the project is in a subfolder", async () => {
    const repo = createTestProject({ "db/migrations/0001_add_country.sql": "ALTER TABLE users ADD COLUMN country text NOT NULL;\n" });
    try {
      execFileSync("git", ["init", "-q"], { cwd: repo.dir });
      const uriOf = (result: CliResult) => {
        const results = JSON.parse(result.stdout).runs[0].results as SarifResult[];
        const finding = results.find((candidate) => candidate.ruleId === "adding-required-field");
        expect(finding?.level).toBe("error");
        return finding!.locations[0]!.physicalLocation.artifactLocation.uri;
      };
      // Lint from the files alone: no database URL.
      const inGit = await runCli(["lint", "--report", "sarif"], { cwd: join(repo.dir, "db") });
      expect(inGit.exitCode, inGit.stderr).toBe(1);
      expect(uriOf(inGit)).toBe("db/migrations/0001_add_country.sql");
      rmSync(join(repo.dir, ".git"), { recursive: true, force: true });
      const inActions = await runCli(["lint", "--report", "sarif"], { cwd: join(repo.dir, "db"), env: { GITHUB_WORKSPACE: repo.dir } });
      expect(uriOf(inActions)).toBe("db/migrations/0001_add_country.sql");
      const plain = await runCli(["lint", "--report", "sarif"], { cwd: join(repo.dir, "db") });
      expect(uriOf(plain)).toBe("migrations/0001_add_country.sql");
    } finally {
      repo.remove();
    }
  });

  it("keeps findings judged harmless as suppressed results, with the reason", async () => {
    project.write("migrations/0002_index_email.sql", "CREATE INDEX users_email_idx ON users (email);\n");
    const result = await migrate(["lint", "--report", "sarif"]);
    expect(result.exitCode).toBe(0);
    const results = JSON.parse(result.stdout).runs[0].results as SarifResult[];
    const index = results.find((finding) => finding.ruleId === "require-concurrent-index-creation");
    expect(index?.suppressions?.[0]).toMatchObject({ kind: "external", justification: expect.stringContaining("earlier in this run") });
  });
});

describe("GitHub Actions annotations", () => {
  it("prints each lint finding as an ::error or ::warning workflow command at its file and line", async () => {
    await pendingRiskyMigration();
    const result = await migrate(["lint"], { GITHUB_ACTIONS: "true" });
    expect(result.exitCode).toBe(1);
    const annotations = result.stdout.split("\n").filter((line) => line.startsWith("::"));
    expect(annotations).toContainEqual(
      expect.stringMatching(/^::error file=migrations\/0002_index_email\.sql,line=2,col=1,title=require-concurrent-index-creation \([^)]*\)::table "public\.users" has about 20k rows .*During normal index creation/),
    );
    // After the human output.
    expect(result.stdout.indexOf("::error")).toBeGreaterThan(result.stdout.indexOf("error(s)"));
    const without = await migrate(["lint"]);
    expect(without.stdout).not.toContain("::error");
  });

  it("annotates a failed migration with its file, line and SQLSTATE, without the password, and on stderr under --json", async () => {
    project.write("migrations/0002_orders.sql", FAILING);
    const result = await migrate(["up"], { GITHUB_ACTIONS: "true" });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      `::error file=migrations/0002_orders.sql,line=3,title=migration 0002_orders failed (${projectName()})::relation "missing_table" does not exist (SQLSTATE 42P01)`,
    );
    const json = await migrate(["up", "--json"], { GITHUB_ACTIONS: "true" });
    expect(JSON.parse(json.stdout).outcome).toBe("failed");
    expect(json.stderr).toContain("::error file=migrations/0002_orders.sql,line=3");
    expectNoPassword(result.stdout, result.stderr, json.stdout, json.stderr);
  });
});

describe("examples/github-actions/migrate.yml", () => {
  const workflow = parseYaml(readFileSync(WORKFLOW, "utf8")) as {
    on: Record<string, { branches?: string[]; paths?: string[] } | null>;
    jobs: Record<string, { if?: string; env?: Record<string, string>; permissions?: Record<string, string>; steps: Array<{ name?: string; run?: string; uses?: string; with?: Record<string, string>; if?: string }> }>;
  };

  it("is valid YAML that runs on pull requests and on pushes to main", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
    expect(workflow.on.push?.branches).toEqual(["main"]);
    expect(workflow.on.pull_request?.paths).toContain("migrations/**");
    expect(Object.keys(workflow.jobs).sort()).toEqual(["lint", "migrate"]);
  });

  it("lints pull requests with a SARIF report uploaded to code scanning, without a database", () => {
    const lint = workflow.jobs.lint!;
    expect(lint.if).toBe("github.event_name == 'pull_request'");
    expect(lint.env?.DIRECT_URL).toBeUndefined();
    expect(lint.permissions?.["security-events"]).toBe("write");
    const runs = lint.steps.map((step) => step.run).filter(Boolean);
    expect(runs).toContain("npx migrate lint --all --report sarif --report-file migrate-lint.sarif");
    const upload = lint.steps.find((step) => step.uses?.startsWith("github/codeql-action/upload-sarif@"));
    expect(upload?.with?.sarif_file).toBe("migrate-lint.sarif");
    expect(upload?.if).toBe("always()");
  });

  it("applies migrations on main over DIRECT_URL from the secrets, with a Markdown summary", () => {
    const job = workflow.jobs.migrate!;
    expect(job.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(job.env?.DIRECT_URL).toBe("${{ secrets.DIRECT_URL }}");
    expect(job.env?.DATABASE_URL).toBeUndefined();
    const runs = job.steps.map((step) => step.run).filter(Boolean);
    expect(runs).toEqual(["npm ci", "npx migrate status", "npx migrate up --report markdown"]);
    expect(job.steps[0]?.uses).toMatch(/^actions\/checkout@v\d+$/);
  });
});
