import { cpSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_URL, createTestDatabase, createTestProject, listTables, openSession, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

const sqlApp = fileURLToPath(new URL("../../../examples/sql-app/migrations", import.meta.url));
let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject();
  cpSync(sqlApp, `${project.dir}/migrations`, { recursive: true });
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

async function databaseExists(name: string): Promise<boolean> {
  const admin = await openSession(ADMIN_URL);
  try {
    return (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

describe("migrate verify", () => {
  it("passes on the sql-app example and leaves the target untouched", async () => {
    const result = await runCli(["verify"], { cwd: project.dir, env: { DIRECT_URL: database.urlWithPassword("verify-pw") } });
    expect(result.exitCode, result.stderr).toBe(0);
    for (const id of ["0003_index_books_title", "0002_create_books", "0001_create_authors"]) {
      expect(result.stdout).toContain(`✓ ${id}  down and up agree with the schema`);
    }
    expect(result.stdout + result.stderr).not.toContain("verify-pw");
    expect(await listTables(database)).toEqual([]);
    const json = await runCli(["verify", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    const { throwawayDatabase } = JSON.parse(json.stdout).projects[0];
    expect(throwawayDatabase).toMatch(/^polymigrate_verify_/);
    expect(await databaseExists(throwawayDatabase)).toBe(false);
  });

  it("fails with the precise mismatch of a wrong down", async () => {
    project.write("migrations/0004_add_isbn.sql", "ALTER TABLE books ADD COLUMN isbn text NOT NULL DEFAULT '';\nCREATE INDEX books_isbn_idx ON books (isbn);\n");
    // The down forgets the column: it stays behind, and the next up fails on it.
    project.write("migrations/0004_add_isbn.down.sql", "DROP INDEX books_isbn_idx;\n");
    const result = await runCli(["verify", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode).toBe(1);
    const steps = JSON.parse(result.stdout).projects[0].verification;
    expect(steps[0]).toMatchObject({
      id: "0004_add_isbn",
      result: "mismatch",
      downDifferences: [`column "public.books.isbn" added: text NOT NULL DEFAULT ''::text`],
    });
    expect(steps[0].message).toContain('column "isbn" of relation "books" already exists');
    const human = await runCli(["verify"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(human.stderr).toContain(`✗ 0004_add_isbn`);
    expect(human.stderr).toContain(`after down, compared with before the migration: column "public.books.isbn" added: text NOT NULL DEFAULT ''::text`);
  });

  it("says which migrations it cannot check for lack of a down", async () => {
    project.write("migrations/0004_no_down.sql", "CREATE TABLE notes (id int);\n");
    const result = await runCli(["verify"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("- 0004_no_down  no down migration");
  });
});
