import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, createTestProject, listColumns, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  project = createTestProject({
    "migrations/0001_users.sql": "CREATE TABLE users (id int PRIMARY KEY, email text);\n",
    "migrations/0002_profiles.sql":
      "CREATE TABLE profiles (id int PRIMARY KEY, user_id int REFERENCES users (id));\nALTER TABLE users ADD COLUMN nickname text;\nCREATE INDEX users_email_idx ON users (email);\n",
    "migrations/0003_drop_email.sql": "ALTER TABLE users DROP COLUMN email;\n",
  });
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

describe("migrate draft-down", () => {
  it("drafts a down that undoes a hand-written up, and marks what SQL cannot undo as irreversible", async () => {
    const env = { DIRECT_URL: database.url };
    const drafted = await runCli(["draft-down", "0002_profiles"], { cwd: project.dir, env });
    expect(drafted.exitCode, drafted.stderr).toBe(0);
    expect(drafted.stdout).toContain("Drafted migrations/0002_profiles.down.sql from migrations/0002_profiles.sql");
    const down = readFileSync(join(project.dir, "migrations/0002_profiles.down.sql"), "utf8");
    expect(down).toContain("DROP TABLE");
    expect(down).toContain("DROP COLUMN");

    const irreversible = await runCli(["draft-down", "0003_drop_email"], { cwd: project.dir, env });
    expect(irreversible.exitCode).toBe(0);
    expect(irreversible.stdout).toContain("IRREVERSIBLE steps");

    // The reversible draft undoes its up exactly.
    expect((await runCli(["up", "--to", "0002_profiles"], { cwd: project.dir, env })).exitCode).toBe(0);
    const undone = await runCli(["down"], { cwd: project.dir, env });
    expect(undone.exitCode, undone.stderr).toBe(0);
    expect(await listTables(database)).toEqual(["users"]);
    expect(await listColumns(database, "users")).toEqual(["id integer", "email text"]);

    // The irreversible one makes down refuse, naming it, and undo nothing.
    expect((await runCli(["up"], { cwd: project.dir, env })).exitCode).toBe(0);
    const refused = await runCli(["down"], { cwd: project.dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("0003_drop_email");
    expect(await listColumns(database, "users")).toEqual(["id integer", "nickname text"]);
  });

  it("will not overwrite a down without --force, and names what it needs", async () => {
    project.write("migrations/0001_users.down.sql", "DROP TABLE users;\n");
    const refused = await runCli(["draft-down", "0001_users"], { cwd: project.dir });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('"migrations/0001_users.down.sql" exists already. Pass --force');
    expect(readFileSync(join(project.dir, "migrations/0001_users.down.sql"), "utf8")).toBe("DROP TABLE users;\n");
    const unknown = await runCli(["draft-down", "0009_nope"], { cwd: project.dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('"0009_nope" is not a migration');
    expect(existsSync(join(project.dir, "migrations/0009_nope.down.sql"))).toBe(false);
  });
});
