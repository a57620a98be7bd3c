import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  createTestProject,
  listTables,
  runCli,
  startPgBouncer,
  type CliResult,
  type TestDatabase,
  type TestProject,
} from "@polymigrate/testing";

// A password as users paste it: an "@", a "/" and a stray "%". Every fragment of it that a wrong split would print.
const RESERVED_PASSWORD = "Zq7@very/secret%x";
const FRAGMENTS = ["Zq7", "very/secret", "very%2Fsecret", "secret%x", "secret%25x"];

let database: TestDatabase;
let project: TestProject;
let scratch: string;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "migrations/0001_init.sql": "CREATE TABLE authors (id int PRIMARY KEY);\n",
    "migrations/0002_create_books.sql": "CREATE TABLE books (id int PRIMARY KEY, author_id int REFERENCES authors (id));\n",
  });
  scratch = mkdtempSync(join(tmpdir(), "pm-url-redaction-"));
});

afterEach(async () => {
  project.remove();
  rmSync(scratch, { recursive: true, force: true });
  await database.drop();
});

/** The test database's URL with `password` as its password field, written as given (not encoded). */
function urlWith(password: string): string {
  return `postgresql://postgres:${password}@127.0.0.1:5432/${database.name}`;
}

function migrate(args: string[], url: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: url, ...env } });
}

function expectNoFragment(where: string, text: string): void {
  for (const fragment of FRAGMENTS) expect(text, `${where} contains "${fragment}"`).not.toContain(fragment);
}

describe("the URL as node-postgres reads it", () => {
  it("refuses a pooler reached through ?host=, naming the rule and the host really used, with nothing applied", async () => {
    const url = `postgresql://u:pw@db.internal:5432/${database.name}?host=ep-x-pooler.us-east-2.aws.neon.tech`;
    for (const args of [["up"], ["status", "--json"]]) {
      const result = await migrate(args, url);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('rule "neon-pooler-host"');
      expect(result.stderr).toContain('host "ep-x-pooler.us-east-2.aws.neon.tech"');
      expect(result.stderr).toContain(`postgresql://u:***@ep-x.us-east-2.aws.neon.tech:5432/${database.name}`);
      if (args.includes("--json")) expect(JSON.parse(result.stdout).error).toMatchObject({ code: "URL_POOLED", details: { rule: "neon-pooler-host" } });
    }
    expect(await listTables(database)).toEqual([]);
  });

  it("refuses Prisma Postgres' pooler, and Supabase's pooler port given as ?port=", async () => {
    const prisma = await migrate(["up"], `postgresql://u:pw@pooled.db.prisma.io:5432/postgres?sslmode=require`);
    expect(prisma.exitCode).toBe(2);
    expect(prisma.stderr).toContain('rule "prisma-postgres-pooler-host"');
    expect(prisma.stderr).toContain("postgresql://u:***@db.prisma.io:5432/postgres?sslmode=require");
    const port = await migrate(["up"], `${urlWith("pw")}?port=6543`);
    expect(port.exitCode).toBe(2);
    expect(port.stderr).toContain('rule "supabase-pooler-port"');
    expect(await listTables(database)).toEqual([]);
  });
});

describe("the runtime pooler probe on a PgBouncer reached through ?host= and ?port=", () => {
  it("refuses it and suggests a direct URL without the pooler's port", async () => {
    const bouncer = await startPgBouncer({ mode: "transaction", targetUrl: database.url });
    try {
      const port = new URL(bouncer.url("pw")).port;
      const url = `postgresql://postgres:pw@db.internal:5432/${database.name}?host=127.0.0.1&port=${port}`;
      const result = await migrate(["up"], url);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`(postgresql://postgres:***@127.0.0.1:${port}/${database.name})`);
      expect(result.stderr).toContain(`the direct URL is probably postgresql://postgres:***@127.0.0.1:5432/${database.name} `);
      expect(result.stderr).not.toContain(`port=${port}`);
      expect(await listTables(database)).toEqual([]);
    } finally {
      await bouncer.stop();
    }
  });
});

describe("a password with unencoded reserved characters", () => {
  it("is refused with how to percent-encode it, never printed, nothing applied", async () => {
    const url = urlWith(RESERVED_PASSWORD);
    for (const args of [["up"], ["status", "--json"], ["up", "--report", "junit"], ["up", "--report", "markdown"]]) {
      const result = await migrate(args, url);
      expect(result.exitCode, args.join(" ")).toBe(2);
      expect(result.stderr).toContain('The URL in "DIRECT_URL" cannot be read unambiguously');
      expect(result.stderr).toContain('"@" as %40, "/" as %2F');
      expectNoFragment(`${args.join(" ")} output`, result.stdout + result.stderr);
      if (args.includes("--json")) expect(JSON.parse(result.stdout).error).toMatchObject({ code: "URL_INVALID" });
    }
    expect(await listTables(database)).toEqual([]);
  });

  it("percent-encoded, connects and is printed nowhere: output, --json, every report, the ledger", async () => {
    const url = urlWith(encodeURIComponent(RESERVED_PASSWORD));
    const applied = await migrate(["up"], url);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`postgresql://postgres:***@127.0.0.1:5432/${database.name}`);
    expect(await listTables(database)).toEqual(["authors", "books"]);

    // A pending migration that fails, and one the lint flags, so that the error and finding paths are printed too.
    project.write("migrations/0003_index_books.sql", "CREATE INDEX books_author_idx ON books (author_id);\n");
    project.write("migrations/0004_broken.sql", "SELECT * FROM missing_table;\n");
    const sarifFile = join(scratch, "lint.sarif");
    const outputs: Array<[string, CliResult]> = [
      ["status", await migrate(["status"], url)],
      ["status --json", await migrate(["status", "--json"], url)],
      ["history", await migrate(["history"], url)],
      ["lint --report sarif", await migrate(["lint", "--report", "sarif", "--report-file", sarifFile], url)],
      ["up --report junit", await migrate(["up", "--report", "junit", "--allow-unsafe"], url)],
      ["up --report markdown", await migrate(["up", "--report", "markdown", "--allow-unsafe"], url)],
      ["up --json", await migrate(["up", "--json", "--allow-unsafe"], url)],
    ];
    for (const [command, result] of outputs) {
      if (!command.startsWith("lint")) expect(result.stdout + result.stderr, command).toContain("127.0.0.1");
      expectNoFragment(command, result.stdout + result.stderr);
    }
    expect(outputs.find(([command]) => command === "up --json")![1].exitCode).toBe(1);
    expectNoFragment("sarif report", readFileSync(sarifFile, "utf8"));
    const ledger = await database.query<{ text: string }>("SELECT string_agg(l::text, ' ') AS text FROM polymigrate.ledger l");
    expect(ledger[0]!.text).toContain("0002_create_books");
    expectNoFragment("polymigrate.ledger", ledger[0]!.text);
  });
});

describe("a word-like password", () => {
  it.each(["postgres", "books"])("%s leaves postgresql:// and 0002_create_books intact", async (password) => {
    const url = urlWith(password);
    expect((await migrate(["up"], url)).exitCode).toBe(0);
    const status = await migrate(["status"], url);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain(`postgresql://postgres:***@127.0.0.1:5432/${database.name}`);
    expect(status.stdout).toMatch(/0002_create_books/);
    expect(status.stdout).not.toContain(`:${password}@`);
    const json = await migrate(["status", "--json"], url);
    const report = JSON.parse(json.stdout);
    expect(JSON.stringify(report)).toContain(`postgresql://postgres:***@127.0.0.1:5432/${database.name}`);
    expect(JSON.stringify(report)).not.toContain(`:${password}@`);
    const ids = report.projects[0].status.map((migration: { id: string }) => migration.id);
    expect(ids).toEqual(["0001_init", "0002_create_books"]);
  });
});
