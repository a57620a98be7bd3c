import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, runCli, type CliResult, type TestDatabase, type TestProject } from "@polymigrate/testing";

interface Finding {
  rule: string;
  level: string;
  message: string;
  suppressed?: string;
  hazard?: { table: string; judgement: string; rows?: number; bytes?: number };
}

const CREATE_TABLES = "CREATE TABLE big (id bigint PRIMARY KEY, email text);\nCREATE TABLE empty (id bigint PRIMARY KEY, email text);\n";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({ "migrations/0001_tables.sql": CREATE_TABLES });
});

afterEach(async () => {
  project.remove();
  await database.drop();
});

function migrate(args: string[], env: Record<string, string> = { DIRECT_URL: database.url }): Promise<CliResult> {
  return runCli(args, { cwd: project.dir, env });
}

function indexFinding(result: CliResult): Finding | undefined {
  return (JSON.parse(result.stdout).projects[0].findings as Finding[]).find((finding) => finding.rule === "require-concurrent-index-creation");
}

async function indexesOf(table: string): Promise<string[]> {
  return (await database.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = '${table}' ORDER BY 1`)).map((row) => row.indexname);
}

// The two tables applied; "big" then holds 200,000 analyzed rows.
async function applyTables(): Promise<void> {
  expect((await migrate(["up"])).exitCode).toBe(0);
  await database.query("INSERT INTO big (id, email) SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 200000) AS g");
  await database.query("ANALYZE big");
}

describe("lock and rewrite hazards judged on the live database", () => {
  it("refuses a plain CREATE INDEX on a table of 200k rows (exit 2, nothing applied), naming its size", async () => {
    await applyTables();
    project.write("migrations/0002_index_big.sql", "CREATE INDEX big_email_idx ON big (email);\n");
    const refused = await migrate(["up"]);
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toContain("migrations/0002_index_big.sql:1:1  require-concurrent-index-creation");
    expect(refused.stderr).toMatch(/table "public\.big" has about 200k rows \(\d+ MB\)/);
    expect(refused.stderr).toContain("a plain CREATE INDEX blocks its writes for the whole build");
    expect(await indexesOf("big")).toEqual(["big_pkey"]);

    const json = await migrate(["up", "--json"]);
    expect(json.exitCode).toBe(2);
    expect(indexFinding(json)).toMatchObject({ level: "error", hazard: { table: "public.big", judgement: "large-table", rows: 200000 } });
  });

  it("applies the same CREATE INDEX on an empty table, with a notice that says so", async () => {
    await applyTables();
    project.write("migrations/0002_index_empty.sql", "CREATE INDEX empty_email_idx ON empty (email);\n");
    const applied = await migrate(["up"]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("judged 1 lock or rewrite hazard(s) harmless on this database");
    expect(applied.stdout).toContain('require-concurrent-index-creation: table "public.empty" has no rows');
    expect(applied.stdout).toContain("below the hazard threshold (10000 rows, 10 MB)");
    expect(await indexesOf("empty")).toContain("empty_email_idx");
  });

  it("lets the project's threshold decide: the big table under a higher one, the empty one never", async () => {
    await applyTables();
    project.write("migrate.config.json", JSON.stringify({ lint: { hazardThreshold: { rows: 500000, bytes: 1073741824 } }, projects: [{ name: "app", stack: "sql", dir: "migrations" }] }));
    project.write("migrations/0002_index_big.sql", "CREATE INDEX big_email_idx ON big (email);\n");
    const lint = await migrate(["lint", "--json"]);
    expect(lint.exitCode, lint.stderr).toBe(0);
    expect(indexFinding(lint)).toMatchObject({ level: "warning", suppressed: expect.stringContaining("below the hazard threshold (500000 rows, 1 GB)") });
  });

  it("applies a CREATE TABLE and its CREATE INDEX in the same run, as a table created in this run", async () => {
    project.write("migrations/0002_posts.sql", "CREATE TABLE posts (id bigint PRIMARY KEY, author_id bigint);\n");
    project.write("migrations/0003_posts_index.sql", "CREATE INDEX posts_author_idx ON posts (author_id);\nDROP INDEX posts_author_idx;\nCREATE INDEX posts_author_idx ON posts (author_id);\n");
    const applied = await migrate(["up"]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('table "posts" is created by "0002_posts", earlier in this run: no lock hazard');
    expect(applied.stdout).toMatch(/require-concurrent-index-deletion: table "posts" is created by "0002_posts"/);
    expect(await indexesOf("posts")).toEqual(["posts_author_idx", "posts_pkey"]);
  });

  it("judges a DROP INDEX by the size of its index's table", async () => {
    await applyTables();
    await database.query("CREATE INDEX big_email_idx ON big (email)");
    await database.query("CREATE INDEX empty_email_idx ON empty (email)");
    project.write("migrations/0002_drop.sql", "DROP INDEX empty_email_idx;\nDROP INDEX big_email_idx;\n");
    const json = await migrate(["lint", "--json"]);
    expect(json.exitCode).toBe(1);
    const drops = (JSON.parse(json.stdout).projects[0].findings as Finding[]).filter((finding) => finding.rule === "require-concurrent-index-deletion");
    expect(drops.map((finding) => [finding.level, finding.hazard?.table, finding.hazard?.judgement])).toEqual([
      ["warning", "public.empty", "small-table"],
      ["error", "public.big", "large-table"],
    ]);
  });

  it("still reports the static finding without a database URL", async () => {
    await applyTables();
    project.write("migrations/0002_index_empty.sql", "CREATE INDEX empty_email_idx ON empty (email);\n");
    const lint = await migrate(["lint", "--json"], {});
    expect(lint.exitCode).toBe(1);
    const finding = indexFinding(lint);
    expect(finding).toMatchObject({ level: "error" });
    expect(finding?.suppressed).toBeUndefined();
    expect(finding?.hazard).toBeUndefined();
    expect(finding?.message).toMatch(/^During normal index creation/);
  });
});
