import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";
import { SCHEMA_V2, createDrizzleProject, reportOf } from "./drizzle-project.js";

const PASSWORD = "s3cret-pw";

let project: TestProject;
let db: TestDatabase;

beforeEach(async () => {
  project = createDrizzleProject({ schema: SCHEMA_V2 });
  db = await createTestDatabase();
});
afterEach(async () => {
  project.remove();
  await db.drop();
});

function markProduction(): void {
  project.write("migrate.config.json", JSON.stringify({ projects: [{ name: "app", stack: "drizzle", dir: ".", production: true }] }));
}

describe("migrate push (development only)", () => {
  it("runs drizzle-kit push over DIRECT_URL, records no migration, and prints no password", async () => {
    const push = await runCli(["push"], { cwd: project.dir, env: { DIRECT_URL: db.urlWithPassword(PASSWORD) } });
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stdout).toContain("Changes applied");
    expect(push.stdout).toContain("No migration was recorded");
    expect(await listTables(db)).toEqual(["posts", "users"]);
    expect(await listTables(db, "drizzle")).toEqual([]);
    const again = await runCli(["push", "--json"], { cwd: project.dir, env: { DIRECT_URL: db.urlWithPassword(PASSWORD) } });
    expect(again.exitCode).toBe(0);
    expect(reportOf(again).outcome).toBe("success");
    for (const result of [push, again]) expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it("is refused (exit 2) for a project marked production, and with MIGRATE_ENV=production, unless --confirm names the database", async () => {
    const byEnv = await runCli(["push"], { cwd: project.dir, env: { DIRECT_URL: db.urlWithPassword(PASSWORD), MIGRATE_ENV: "production" } });
    expect(byEnv.exitCode).toBe(2);
    expect(byEnv.stderr).toContain("by MIGRATE_ENV=production");
    markProduction();
    const byConfig = await runCli(["push"], { cwd: project.dir, env: { DIRECT_URL: db.urlWithPassword(PASSWORD) } });
    expect(byConfig.exitCode).toBe(2);
    expect(byConfig.stderr).toContain('"migrate push" is for development databases');
    expect(byConfig.stderr).toContain(`by its configuration (production: true): "migrate push" on database "${db.name}" needs --confirm ${db.name}`);
    expect(await listTables(db)).toEqual([]);
    const confirmed = await runCli(["push", "--force", "--confirm", db.name], { cwd: project.dir, env: { DIRECT_URL: db.urlWithPassword(PASSWORD) } });
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect((await listTables(db)).length).toBeGreaterThan(0);
    for (const result of [byEnv, byConfig, confirmed]) expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });
});
