import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  const files: Record<string, string> = {};
  for (let index = 1; index <= 8; index++) {
    const id = String(index).padStart(4, "0");
    // Each migration takes a moment, so that the runs overlap for real.
    files[`migrations/${id}_t${index}.sql`] = `CREATE TABLE t${index} (id int);\nSELECT pg_sleep(0.05);\n`;
  }
  project = createTestProject(files);
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

describe("concurrent runs", () => {
  it("five concurrent `migrate up` apply each migration exactly once; the others wait and find nothing to do", async () => {
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => runCli(["up", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } })),
    );
    const reports = runs.map((run) => {
      expect(run.exitCode, run.stderr).toBe(0);
      return JSON.parse(run.stdout).projects[0];
    });
    const applied = reports.flatMap((report) => report.migrations.filter((m: { outcome: string }) => m.outcome === "applied"));
    expect(applied.map((m: { id: string }) => m.id).sort()).toEqual(
      Array.from({ length: 8 }, (_, index) => `${String(index + 1).padStart(4, "0")}_t${index + 1}`),
    );
    const idle = reports.filter((report) => report.migrations.length === 0);
    expect(idle).toHaveLength(4);
    for (const report of idle) expect(report.lockWaitedMs).toBeGreaterThan(0);
    const rows = await database.query<{ count: string }>("SELECT count(*) FROM polymigrate.sql_migrations");
    expect(rows[0]?.count).toBe("8");
    expect(await listTables(database)).toHaveLength(8);
  });
});

describe("CREATE INDEX CONCURRENTLY that fails", () => {
  it("leaves an INVALID index that the next run reports and drops before building it again", async () => {
    const dir = createTestProject({
      "migrations/0001_users.sql": "CREATE TABLE users (id int, email text);\nINSERT INTO users VALUES (1, 'a'), (2, 'a');\n",
      "migrations/0002_unique_email.sql": "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n",
    });
    try {
      const failed = await runCli(["up"], { cwd: dir.dir, env: { DIRECT_URL: database.url } });
      expect(failed.exitCode).toBe(1);
      expect(failed.stderr).toContain("(SQLSTATE 23505)");
      const invalid = await database.query("SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'users_email_key' AND NOT i.indisvalid");
      expect(invalid).toHaveLength(1);

      await database.query("DELETE FROM users WHERE id = 2");
      const retried = await runCli(["up"], { cwd: dir.dir, env: { DIRECT_URL: database.url } });
      expect(retried.exitCode, retried.stderr).toBe(0);
      expect(retried.stdout).toContain('Dropped the INVALID index "public.users_email_key" on "users"');
      const valid = await database.query("SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'users_email_key' AND i.indisvalid");
      expect(valid).toHaveLength(1);
    } finally {
      dir.remove();
    }
  });
});
