import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  createTestProject,
  listColumns,
  runCli,
  type CliResult,
  type TestDatabase,
  type TestProject,
} from "@polymigrate/testing";

interface Finding {
  rule: string;
  level: string;
  file: string;
  line: number;
  column?: number;
  migration: string;
  suppressed?: string;
  source: string;
  renderedLine?: number;
}

const CREATE_USERS = "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  email text NOT NULL,\n  age integer\n);\n";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({ "migrations/0001_create_users.sql": CREATE_USERS });
});

afterEach(async () => {
  project.remove();
  await database.drop();
});

function migrate(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: database.url, ...env } });
}

async function columnNames(): Promise<string[]> {
  return (await listColumns(database, "users")).map((column) => column.split(" ")[0]!);
}

function findingsOf(result: CliResult): Finding[] {
  return JSON.parse(result.stdout).projects[0].findings as Finding[];
}

function active(findings: Finding[]): Finding[] {
  return findings.filter((finding) => !finding.suppressed);
}

// Applies the first migration and fills the table above the default hazard threshold (10,000 rows): from then on it
// is an existing table big enough for its locks to matter.
async function applyUsersWithRows(): Promise<void> {
  const up = await migrate(["up"]);
  expect(up.exitCode).toBe(0);
  await database.query("INSERT INTO users (id, email, age) SELECT g, 'user' || g || '@example.com', 30 FROM generate_series(1, 20000) AS g");
  await database.query("ANALYZE users");
}

describe("migrate lint on the plain-SQL stack", () => {
  it("finds blocking changes to an existing table at their file, line and column, and exits 1", async () => {
    await applyUsersWithRows();
    project.write(
      "migrations/0002_risky.sql",
      "-- Speeds up the login query.\n\nCREATE INDEX users_email_idx ON users (email);\n\nALTER TABLE users ADD COLUMN country text NOT NULL;\nALTER TABLE users ALTER COLUMN age TYPE bigint;\n",
    );
    const json = await migrate(["lint", "--json"]);
    expect(json.exitCode).toBe(1);
    const findings = active(findingsOf(json));
    const byRule = (rule: string) => findings.find((finding) => finding.rule === rule);
    expect(byRule("require-concurrent-index-creation")).toMatchObject({ level: "error", line: 3, column: 1, migration: "0002_risky", source: "squawk" });
    expect(byRule("require-concurrent-index-creation")?.file).toMatch(/migrations\/0002_risky\.sql$/);
    expect(byRule("adding-required-field")).toMatchObject({ level: "error", line: 5 });
    expect(byRule("changing-column-type")).toMatchObject({ level: "error", line: 6 });
    // Squawk's timeout rules are off: the runner sets lock_timeout and statement_timeout itself.
    expect(findings.map((finding) => finding.rule)).not.toContain("require-lock-timeout");
    expect(JSON.parse(json.stdout).projects[0].lint).toMatchObject({ scope: "pending", migrations: 1, squawk: "ran", errors: 3 });

    const human = await migrate(["lint"]);
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toContain("migrations/0002_risky.sql:3:1  require-concurrent-index-creation");
    expect(human.stdout).toContain("statement: CREATE INDEX users_email_idx ON users (email)");
    expect(human.stdout).toMatch(/3 error\(s\)/);
  });

  it("judges a lock on a table created earlier in the same run, or on an empty table, harmless", async () => {
    project.write("migrations/0002_index.sql", "CREATE INDEX users_email_idx ON users (email);\n");
    const pendingBoth = await migrate(["lint", "--json"]);
    expect(pendingBoth.exitCode).toBe(0);
    const suppressed = findingsOf(pendingBoth).find((finding) => finding.rule === "require-concurrent-index-creation");
    expect(suppressed?.suppressed).toContain('created by "0001_create_users", earlier in this run');

    // Applied but empty: still harmless. With a row: an error.
    project.remove();
    project = createTestProject({ "migrations/0001_create_users.sql": CREATE_USERS });
    expect((await migrate(["up"])).exitCode).toBe(0);
    project.write("migrations/0002_index.sql", "CREATE INDEX users_email_idx ON users (email);\n");
    const empty = await migrate(["lint", "--json"]);
    expect(empty.exitCode).toBe(0);
    expect(findingsOf(empty).find((finding) => finding.rule === "require-concurrent-index-creation")?.suppressed).toContain("no rows");
    // A few rows: below the hazard threshold, still a notice. Above it: an error.
    await database.query("INSERT INTO users (id, email) SELECT g, 'user' || g FROM generate_series(1, 12) AS g");
    await database.query("ANALYZE users");
    const small = await migrate(["lint", "--json"]);
    expect(small.exitCode).toBe(0);
    expect(findingsOf(small).find((finding) => finding.rule === "require-concurrent-index-creation")?.suppressed).toContain(
      'table "public.users" has about 12 rows',
    );
    await database.query("INSERT INTO users (id, email) SELECT g, 'user' || g FROM generate_series(13, 20000) AS g");
    await database.query("ANALYZE users");
    expect((await migrate(["lint"])).exitCode).toBe(1);
  });

  it("refuses up (exit 2, nothing applied) on a lint error, and applies with --allow-unsafe", async () => {
    await applyUsersWithRows();
    project.write("migrations/0002_index.sql", "ALTER TABLE users ADD COLUMN nickname text;\nCREATE INDEX users_email_idx ON users (email);\n");
    const refused = await migrate(["up"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("refused: the safety lint found errors");
    expect(refused.stderr).toContain("migrations/0002_index.sql:2:1  require-concurrent-index-creation");
    expect(refused.stderr).toContain("--allow-unsafe");
    expect(await columnNames()).not.toContain("nickname");

    const json = await migrate(["up", "--json"]);
    expect(json.exitCode).toBe(2);
    const report = JSON.parse(json.stdout).projects[0];
    expect(report.error.code).toBe("UNSAFE_MIGRATION");
    expect(active(report.findings).map((finding: Finding) => [finding.rule, finding.line])).toEqual([["require-concurrent-index-creation", 2]]);

    const allowed = await migrate(["up", "--allow-unsafe"]);
    expect(allowed.exitCode).toBe(0);
    expect(allowed.stdout).toContain("Applying despite 1 lint error(s)");
    expect(await columnNames()).toContain("nickname");
    const indexes = await database.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'users'");
    expect(indexes.map((row) => row.indexname)).toContain("users_email_idx");
  });

  it("lets a comment silence a finding on its statement, and the configuration disable a rule", async () => {
    await applyUsersWithRows();
    project.write(
      "migrate.config.json",
      JSON.stringify({ projects: [{ name: "app", stack: "sql", dir: "migrations", lint: { disable: ["changing-column-type"] } }] }),
    );
    project.write(
      "migrations/0002_small.sql",
      "-- users is small: a plain index takes a moment.\n-- polymigrate:allow require-concurrent-index-creation\nCREATE INDEX users_email_idx ON users (email);\nCREATE INDEX users_age_idx ON users (age);\nALTER TABLE users ALTER COLUMN age TYPE bigint;\n",
    );
    const lint = await migrate(["lint", "--json"]);
    const findings = active(findingsOf(lint));
    // The comment covers its own statement only; the next CREATE INDEX is still an error.
    expect(findings.filter((finding) => finding.level === "error").map((finding) => [finding.rule, finding.line])).toEqual([
      ["require-concurrent-index-creation", 4],
    ]);
    expect(findings.map((finding) => finding.rule)).not.toContain("changing-column-type");

    project.write(
      "migrations/0002_small.sql",
      "-- polymigrate:allow require-concurrent-index-creation\nCREATE INDEX users_email_idx ON users (email);\nALTER TABLE users ALTER COLUMN age TYPE bigint;\n",
    );
    expect((await migrate(["lint"])).exitCode).toBe(0);
    const up = await migrate(["up"]);
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain("✓ 0002_small");
  });

  it("reports a migration mixing transactional and non-transactional statements, with the fix", async () => {
    await applyUsersWithRows();
    project.write(
      "migrations/0002_mixed.sql",
      "ALTER TABLE users ADD COLUMN nickname text;\n\nCREATE INDEX CONCURRENTLY users_nickname_idx ON users (nickname);\n",
    );
    const lint = await migrate(["lint", "--json"]);
    expect(lint.exitCode).toBe(1);
    const mixed = findingsOf(lint).find((finding) => finding.rule === "mixed-transaction");
    expect(mixed).toMatchObject({ level: "error", line: 3, source: "polymigrate" });
    const human = await migrate(["lint"]);
    expect(human.stdout).toContain("migrations/0002_mixed.sql:3  mixed-transaction");
    expect(human.stdout).toContain("Split it into two migrations");

    // Split in two, it passes.
    project.write("migrations/0002_mixed.sql", "ALTER TABLE users ADD COLUMN nickname text;\n");
    project.write("migrations/0003_index.sql", "CREATE INDEX CONCURRENTLY users_nickname_idx ON users (nickname);\n");
    expect((await migrate(["lint"])).exitCode).toBe(0);
  });

  it("reports a column dropped while a later pending migration still uses it", async () => {
    await applyUsersWithRows();
    project.write("migrations/0002_drop_age.sql", "ALTER TABLE users DROP COLUMN age;\n");
    project.write("migrations/0003_backfill.sql", "-- backfill\nUPDATE users SET age = 0 WHERE age IS NULL;\n");
    const lint = await migrate(["lint", "--json"]);
    expect(lint.exitCode).toBe(1);
    const finding = findingsOf(lint).find((candidate) => candidate.rule === "dropped-column-still-used");
    expect(finding).toMatchObject({ migration: "0002_drop_age", line: 1, level: "error" });
  });

  it("lints every migration on disk from the files alone when no database URL is set", async () => {
    project.write("migrations/0002_index.sql", "\nCREATE INDEX users_email_idx ON users (email);\n");
    const result = await runCli(["lint", "--json"], { cwd: project.dir, env: {} });
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout).projects[0];
    expect(report.lint).toMatchObject({ scope: "all", migrations: 2 });
    // Each migration is judged as if those before it were applied: users exists when 0002 runs.
    expect(active(report.findings).find((finding: Finding) => finding.rule === "require-concurrent-index-creation")).toMatchObject({
      migration: "0002_index",
      line: 2,
    });
    const human = await runCli(["lint"], { cwd: project.dir, env: {} });
    expect(human.stdout).toContain("all 2 migration(s) on disk, from the files alone");
  });

  it("says so and runs our own rules alone when Squawk's binary is missing", async () => {
    project.write("migrations/0002_mixed.sql", "CREATE INDEX a ON users (email);\nCREATE INDEX CONCURRENTLY b ON users (age);\n");
    const result = await migrate(["lint"], { POLYMIGRATE_SQUAWK: "none" });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("Squawk is not installed for this platform: only Polymigrate's own rules ran.");
    expect(result.stderr).toContain("only Polymigrate's own lint rules ran");
    expect(result.stdout).toContain("mixed-transaction");
    expect(result.stdout).not.toContain("require-concurrent-index-creation");
  });
});

const ALEMBIC_EXAMPLE = fileURLToPath(new URL("../../../examples/alembic-app", import.meta.url));
const INDEX_REVISION = "20261124_da19748f0605_index_posts_by_author_add_user_bio.py";

describe("migrate lint on an Alembic project, through its offline SQL", () => {
  let alembic: string;

  beforeEach(() => {
    alembic = mkdtempSync(join(tmpdir(), "polymigrate-lint-alembic-"));
    cpSync(ALEMBIC_EXAMPLE, alembic, {
      recursive: true,
      filter: (source) => !["node_modules", "__pycache__", "test", ".env"].includes(basename(source)),
    });
  });

  afterEach(() => rmSync(alembic, { recursive: true, force: true }));

  function lineOf(file: string, text: string): number {
    return readFileSync(file, "utf8").split("\n").findIndex((line) => line.includes(text)) + 1;
  }

  it("points a finding at the revision file, on the op call that made the statement", async () => {
    const revisionFile = join(alembic, "alembic/versions", INDEX_REVISION);
    const result = await runCli(["lint", "--json"], { cwd: alembic, env: {}, timeoutMs: 120_000 });
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout).projects[0];
    expect(report.lint).toMatchObject({ scope: "all", migrations: 3, squawk: "ran", errors: 1 });
    const index = active(report.findings).find((finding: Finding) => finding.rule === "require-concurrent-index-creation");
    expect(index).toMatchObject({ migration: "da19748f0605", level: "error", file: revisionFile });
    expect(index.line).toBe(lineOf(revisionFile, "op.create_index('ix_posts_author_id_created_at'"));
    expect(index.renderedLine).toBeGreaterThan(0);

    const human = await runCli(["lint"], { cwd: alembic, env: {}, timeoutMs: 120_000 });
    expect(human.stdout).toContain(`alembic/versions/${INDEX_REVISION}:${index.line} (line ${index.renderedLine} of its SQL)  require-concurrent-index-creation`);
  }, 120_000);

  it("lints the pending revisions against the database, and up refuses them until --allow-unsafe", async () => {
    const env = { DIRECT_URL: database.url };
    const first = await runCli(["up", "--to", "803f3626e1af"], { cwd: alembic, env, timeoutMs: 120_000 });
    expect(first.exitCode).toBe(0);
    // The tables were created earlier in that run: their indexes were harmless. Now posts is above the hazard threshold.
    await database.query("INSERT INTO users (email, name) VALUES ('a@example.com', 'A')");
    await database.query("INSERT INTO posts (author_id, title) SELECT id, 'Hello' FROM users, generate_series(1, 20000)");
    await database.query("ANALYZE posts");

    const lint = await runCli(["lint", "--json"], { cwd: alembic, env, timeoutMs: 120_000 });
    expect(lint.exitCode).toBe(1);
    const report = JSON.parse(lint.stdout).projects[0];
    expect(report.lint).toMatchObject({ scope: "pending", migrations: 1, errors: 1 });
    expect(active(report.findings).find((finding: Finding) => finding.level === "error")).toMatchObject({
      rule: "require-concurrent-index-creation",
      file: join(alembic, "alembic/versions", INDEX_REVISION),
    });

    const refused = await runCli(["up"], { cwd: alembic, env, timeoutMs: 120_000 });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`alembic/versions/${INDEX_REVISION}:`);
    expect(await database.query("SELECT version_num FROM alembic_version")).toEqual([{ version_num: "803f3626e1af" }]);

    const allowed = await runCli(["up", "--allow-unsafe"], { cwd: alembic, env, timeoutMs: 120_000 });
    expect(allowed.exitCode).toBe(0);
    expect(await database.query("SELECT version_num FROM alembic_version")).toEqual([{ version_num: "da19748f0605" }]);
  }, 180_000);
});

describe("migrate lint places findings in Prisma and Drizzle migration files", () => {
  let copy: string;

  function copyExample(name: string): string {
    const source = fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
    copy = mkdtempSync(join(tmpdir(), `polymigrate-lint-${name}-`));
    cpSync(source, copy, { recursive: true, filter: (path) => !["node_modules", "test", ".env"].includes(basename(path)) });
    // The stack's own config (drizzle.config.ts) imports the stack's packages from the example's node_modules.
    if (existsSync(join(source, "node_modules"))) symlinkSync(join(source, "node_modules"), join(copy, "node_modules"));
    return copy;
  }

  afterEach(() => rmSync(copy, { recursive: true, force: true }));

  async function lintFromFiles(dir: string): Promise<Finding[]> {
    const result = await runCli(["lint", "--json"], { cwd: dir, env: {}, timeoutMs: 120_000 });
    expect(result.exitCode).toBe(1);
    return active(JSON.parse(result.stdout).projects[0].findings as Finding[]).filter((finding) => finding.level === "error");
  }

  it("points at the line of a Prisma migration.sql", async () => {
    const dir = copyExample("prisma-app");
    const file = join(dir, "prisma/migrations/20261124220341_add_roles/migration.sql");
    appendFileSync(file, '\n-- Speeds up the role lookup.\nCREATE INDEX "User_role_idx" ON "User"("role");\n');
    const line = readFileSync(file, "utf8").split("\n").findIndex((text) => text.startsWith('CREATE INDEX "User_role_idx"')) + 1;
    expect(await lintFromFiles(dir)).toEqual([
      expect.objectContaining({ rule: "require-concurrent-index-creation", migration: "20261124220341_add_roles", file, line, column: 1 }),
    ]);
  }, 120_000);

  it("points at the line of a Drizzle migration, past its statement breakpoints", async () => {
    const dir = copyExample("drizzle-app");
    const file = join(dir, "drizzle/0002_add_user_bio.sql");
    appendFileSync(file, '\n--> statement-breakpoint\nCREATE INDEX "users_bio_idx" ON "users" ("bio");\n');
    const line = readFileSync(file, "utf8").split("\n").findIndex((text) => text.startsWith('CREATE INDEX "users_bio_idx"')) + 1;
    expect(await lintFromFiles(dir)).toEqual([
      expect.objectContaining({ rule: "require-concurrent-index-creation", migration: "0002_add_user_bio", file, line, column: 1 }),
    ]);
  }, 120_000);
});
