import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, listTables, runCli, type CliResult, type TestDatabase, type TestProject } from "@polymigrate/testing";

let database: TestDatabase;
let project: TestProject;
// A folder beside the project, where files the project must never reach live.
let beside: string;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({ "migrations/0001_create_users.sql": "CREATE TABLE users (id serial PRIMARY KEY);\n" });
  beside = mkdtempSync(join(tmpdir(), "polymigrate-beside-"));
  writeFileSync(join(beside, "outside.sql"), "CREATE TABLE leaked (id int);\n");
});

afterEach(async () => {
  project.remove();
  rmSync(beside, { recursive: true, force: true });
  await database.drop();
});

function migrate(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: database.url } });
}

function configure(project: TestProject, extra: Record<string, unknown>): void {
  project.write("migrate.config.json", JSON.stringify({ projects: [{ name: "app", stack: "sql", dir: "migrations", ...extra }] }));
}

// Nothing applied: no table, and no history table (so no row in it).
async function expectNothingApplied(): Promise<void> {
  expect(await listTables(database)).toEqual([]);
  const [row] = await database.query<{ table: string | null }>("SELECT to_regclass('polymigrate.sql_migrations')::text AS table");
  expect(row?.table).toBeNull();
}

describe("migration files that lead out of the project", () => {
  it("refuses a migration file linked to a file outside the project, for plan and up, applying nothing", async () => {
    const link = join(project.dir, "migrations", "0002_linked.sql");
    symlinkSync(join(beside, "outside.sql"), link);
    for (const command of ["plan", "up"]) {
      const result = await migrate([command]);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain('The migration "0002_linked" leads through a symbolic link');
      expect(result.stderr).toContain(join(beside, "outside.sql"));
      expect(result.stderr).toContain('"allowSymlinksOutside": true');
    }
    const json = JSON.parse((await migrate(["up", "--json"])).stdout);
    expect(json.projects[0].error).toMatchObject({ code: "MIGRATIONS_INVALID", details: { file: link } });
    await expectNothingApplied();
  });

  it("follows the link when the project allows links out", async () => {
    symlinkSync(join(beside, "outside.sql"), join(project.dir, "migrations", "0002_linked.sql"));
    configure(project, { allowSymlinksOutside: true });
    const result = await migrate(["up"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await listTables(database)).toEqual(["leaked", "users"]);
  });

  it("refuses a configuration whose allowSymlinksOutside is not a boolean", async () => {
    configure(project, { allowSymlinksOutside: "yes" });
    const result = await migrate(["status"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("projects[0].allowSymlinksOutside must be true or false");
  });
});

describe("migration files as bytes", () => {
  it("refuses a file that is not UTF-8 with its path and the offset of the first invalid byte, applying nothing", async () => {
    // "café" in Latin-1: the é is the single byte 0xE9, at offset 16.
    const file = join(project.dir, "migrations", "0002_latin1.sql");
    writeFileSync(file, Buffer.concat([Buffer.from("CREATE TABLE caf"), Buffer.from([0xe9]), Buffer.from(" (id int);\n")]));
    for (const command of ["status", "plan", "up"]) {
      const result = await migrate([command]);
      expect(result.exitCode, result.stdout).toBe(2);
      expect(`${result.stdout}${result.stderr}`).toContain(`"${file}" is not valid UTF-8: the byte at offset 16 (0xe9)`);
      expect(`${result.stdout}${result.stderr}`).not.toContain("\ufffd");
    }
    await expectNothingApplied();
  });

  it("records the SHA-256 of the file's bytes, and still treats a change of line endings alone as no change", async () => {
    const sql = "CREATE TABLE café (id int);\r\nCOMMENT ON TABLE café IS 'naïve — ünïcödé';\r\n";
    const file = project.write("migrations/0002_unicode.sql", sql);
    expect((await migrate(["up"])).exitCode).toBe(0);
    const rows = await database.query<{ id: string; checksum: string }>("SELECT id, checksum FROM polymigrate.sql_migrations ORDER BY id");
    expect(rows[1]?.checksum).toBe(createHash("sha256").update(readFileSync(file)).digest("hex"));

    writeFileSync(file, sql.replace(/\r\n/g, "\n"));
    const status = JSON.parse((await migrate(["status", "--json"])).stdout);
    expect(status.projects[0].problems).toEqual([]);
    writeFileSync(file, `\ufeff${sql}`);
    const changed = JSON.parse((await migrate(["status", "--json"])).stdout);
    expect(changed.projects[0].problems.map((problem: { kind: string }) => problem.kind)).toEqual(["changed"]);
  });

  it("refuses a file above the project's size limit, naming the setting that raises it", async () => {
    project.write("migrations/0002_large.sql", `${"INSERT INTO users DEFAULT VALUES;\n".repeat(40)}`);
    configure(project, { maxMigrationBytes: 1000 });
    const result = await migrate(["up"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("0002_large.sql\" is 1360 bytes, more than the 1000 bytes a migration may be");
    expect(result.stderr).toContain('"maxMigrationBytes"');
    await expectNothingApplied();
  });

  it("warns about an empty and a comment-only migration in status, plan and up, and still applies and records them", async () => {
    project.write("migrations/0002_empty.sql", "");
    project.write("migrations/0003_comments.sql", "-- TODO: write the change here.\n/* later */\n");
    const status = await migrate(["status"]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain('! Migration "0002_empty" has no statement');
    expect(status.stdout).toContain('! Migration "0003_comments" has no statement');
    const json = JSON.parse((await migrate(["status", "--json"])).stdout);
    expect(json.projects[0].problems.map((problem: { kind: string; level: string; id: string }) => [problem.kind, problem.level, problem.id])).toEqual([
      ["empty", "warning", "0002_empty"],
      ["empty", "warning", "0003_comments"],
    ]);
    expect((await migrate(["plan"])).stdout).toMatch(/^-- +! Migration "0002_empty" has no statement/m);

    const up = await migrate(["up"]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain('warning: Migration "0002_empty" has no statement');
    expect(up.stdout).toContain('warning: Migration "0003_comments" has no statement');
    expect(up.stdout).toContain("3 applied");
    const upJson = JSON.parse((await migrate(["status", "--json"])).stdout);
    expect(upJson.projects[0].problems).toEqual([]);
    const rows = await database.query<{ id: string }>("SELECT id FROM polymigrate.sql_migrations ORDER BY id");
    expect(rows.map((row) => row.id)).toEqual(["0001_create_users", "0002_empty", "0003_comments"]);
  });
});
