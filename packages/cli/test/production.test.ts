import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "migrations/0001_t.sql": "CREATE TABLE t (id int);\n",
    "migrations/0001_t.down.sql": "DROP TABLE t;\n",
  });
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

describe("production guards", () => {
  it("refuses down on a production project without --confirm <database>, and runs it with", async () => {
    project.write("migrate.config.json", JSON.stringify({ projects: [{ name: "app", stack: "sql", dir: "migrations", production: true }] }));
    const env = { DIRECT_URL: database.urlWithPassword("prod-pw") };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);

    const refused = await runCli(["down"], { cwd: project.dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`Project "app" is production, by its configuration (production: true): "migrate down" on database "${database.name}" needs --confirm ${database.name}`);
    const wrong = await runCli(["down", "--confirm", "other"], { cwd: project.dir, env });
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain('(--confirm "other" does not match)');
    expect(await listTables(database)).toEqual(["t"]);

    const confirmed = await runCli(["down", "--confirm", database.name], { cwd: project.dir, env });
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect(await listTables(database)).toEqual([]);
    for (const result of [refused, wrong, confirmed]) expect(result.stdout + result.stderr).not.toContain("prod-pw");
  });

  it("treats every project as production under MIGRATE_ENV=production", async () => {
    const env = { DIRECT_URL: database.url, MIGRATE_ENV: "production" };
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    const refused = await runCli(["down"], { cwd: project.dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("by MIGRATE_ENV=production");
  });

  it("records the restore point (time and WAL LSN) of an up on production, and says how to restore to it", async () => {
    const env = { DIRECT_URL: database.url, MIGRATE_ENV: "production" };
    const json = await runCli(["up", "--json"], { cwd: project.dir, env });
    expect(json.exitCode).toBe(0);
    const point = JSON.parse(json.stdout).projects[0].restorePoint;
    expect(point.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(Date.parse(point.time)).toBeLessThanOrEqual(Date.now());
    expect(point.howTo).toContain(`point-in-time recovery`);
    project.write("migrations/0002_u.sql", "CREATE TABLE u (id int);\n");
    const human = await runCli(["up"], { cwd: project.dir, env });
    expect(human.stdout).toMatch(/Restore point: To undo this run entirely, restore the database to \S+ \(WAL LSN [0-9A-F]+\/[0-9A-F]+\)/);
  });

  it("records no restore point outside production", async () => {
    const json = await runCli(["up", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(JSON.parse(json.stdout).projects[0].restorePoint).toBeUndefined();
  });
});
