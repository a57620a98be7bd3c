// Migration files that must not be read as they are: a migration.sql linked out of the project, and one that is not
// UTF-8. Both are refused before anything is applied; the project can allow the link.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";
import { createPrismaProject, exampleMigrations, readHistory, urlEnv } from "./prisma-project.js";

let database: TestDatabase;
let app: TestProject;
let beside: string;

beforeEach(async () => {
  database = await createTestDatabase("pm_prisma");
  app = createPrismaProject({ migrations: 1 });
  beside = mkdtempSync(join(tmpdir(), "polymigrate-beside-"));
});
afterEach(async () => {
  app.remove();
  rmSync(beside, { recursive: true, force: true });
  await database.drop();
});

function cli(args: string[]) {
  return runCli(args, { cwd: app.dir, env: urlEnv(database) });
}

async function expectNothingApplied(): Promise<void> {
  expect(await listTables(database)).toEqual([]);
}

describe("Prisma migration files", () => {
  const folder = "20990101000000_extra";

  it("refuses a migration.sql linked outside the project, and follows it when the project allows it", async () => {
    writeFileSync(join(beside, "migration.sql"), "CREATE TABLE leaked (id int);\n");
    app.write(`prisma/migrations/${folder}/.keep`, "");
    symlinkSync(join(beside, "migration.sql"), join(app.dir, "prisma", "migrations", folder, "migration.sql"));
    const refused = await cli(["up"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`The migration folder "${folder}" leads through a symbolic link`);
    await expectNothingApplied();

    app.write("migrate.config.json", JSON.stringify({ projects: [{ name: "app", stack: "prisma", dir: ".", allowSymlinksOutside: true }] }));
    const allowed = await cli(["up"]);
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    expect(await listTables(database)).toContain("leaked");
    expect((await readHistory(database)).map((row) => row.migration_name)).toEqual([exampleMigrations()[0], folder]);
  });

  it("refuses a migration.sql that is not UTF-8 with its path and offset, applying nothing", async () => {
    const file = app.write(`prisma/migrations/${folder}/migration.sql`, "");
    writeFileSync(file, Buffer.concat([Buffer.from("-- r"), Buffer.from([0xe9, 0x73]), Buffer.from("um\nCREATE TABLE x (id int);\n")]));
    const result = await cli(["up"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`"${file}" is not valid UTF-8: the byte at offset 4 (0xe9)`);
    await expectNothingApplied();
  });
});
