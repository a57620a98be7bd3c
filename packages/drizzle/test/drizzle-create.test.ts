import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listColumns, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";
import { SCHEMA_V1, createDrizzleProject, readJournalOf, runDrizzleKit, reportOf } from "./drizzle-project.js";

const PASSWORD = "s3cret-pw";

let project: TestProject;
let db: TestDatabase;

beforeEach(async () => {
  project = createDrizzleProject();
  db = await createTestDatabase();
});
afterEach(async () => {
  project.remove();
  await db.drop();
});

function cli(args: string[]) {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: db.urlWithPassword(PASSWORD) } });
}

describe("migrate create", () => {
  it("runs drizzle-kit generate after a schema change: drizzle-kit's SQL file and journal entry, then up applies it", async () => {
    const first = await cli(["create", "init"]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain("Created 0000_init in app:");
    expect(first.stdout).toContain("drizzle/0000_init.sql");
    expect(readJournalOf(project).entries.map((entry) => entry.tag)).toEqual(["0000_init"]);
    expect(await cli(["up"]).then((result) => result.exitCode)).toBe(0);

    project.write("src/db/schema.ts", SCHEMA_V1.replace('email: text("email").notNull().unique(),', 'email: text("email").notNull().unique(),\n  bio: text("bio"),'));
    const created = await cli(["create", "add bio", "--json"]);
    expect(created.exitCode, created.stderr).toBe(0);
    const report = reportOf(created);
    expect(report.projects[0].created.id).toBe("0001_add_bio");
    const journal = readJournalOf(project);
    expect(journal.entries.map((entry) => entry.tag)).toEqual(["0000_init", "0001_add_bio"]);
    expect(journal.entries[1]).toMatchObject({ idx: 1, breakpoints: true });
    const sqlFile = join(project.dir, "drizzle", "0001_add_bio.sql");
    expect(readFileSync(sqlFile, "utf8")).toBe('ALTER TABLE "users" ADD COLUMN "bio" text;');
    expect(existsSync(join(project.dir, "drizzle", "meta", "0001_snapshot.json"))).toBe(true);
    const downFile = join(project.dir, "drizzle", "0001_add_bio.down.sql");
    expect(report.projects[0].created.files).toEqual([
      sqlFile,
      join(project.dir, "drizzle", "meta", "0001_snapshot.json"),
      join(project.dir, "drizzle", "meta", "_journal.json"),
      downFile,
    ]);
    // The down is drafted from drizzle-kit's SQL by the core's generator, beside it, where drizzle-kit never looks.
    expect(readFileSync(downFile, "utf8")).toContain('ALTER TABLE "users" DROP COLUMN "bio";');

    const up = await cli(["up"]);
    expect(up.exitCode).toBe(0);
    expect(await listColumns(db, "users")).toContain("bio text");
    // drizzle-kit agrees: nothing left to apply, and `drizzle-kit check` finds the folder consistent.
    const kit = await runDrizzleKit(["migrate"], project.dir, db.urlWithPassword(PASSWORD));
    expect(kit.exitCode, kit.all).toBe(0);
    expect(await db.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).toEqual([{ n: 2 }]);
    const check = await runDrizzleKit(["check"], project.dir);
    expect(check.exitCode, check.all).toBe(0);

    // The drafted down undoes it, and drizzle-kit then applies it again.
    const down = await cli(["down"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await listColumns(db, "users")).not.toContain("bio text");
    const again = await runDrizzleKit(["migrate"], project.dir, db.urlWithPassword(PASSWORD));
    expect(again.exitCode, again.all).toBe(0);
    expect(await listColumns(db, "users")).toContain("bio text");
    for (const result of [first, created, up, down]) expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it("says so when drizzle-kit finds no schema change, and creates nothing", async () => {
    expect((await cli(["create", "init"])).exitCode).toBe(0);
    const again = await cli(["create", "nothing"]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('No schema change found: nothing created for "app".');
    expect(readJournalOf(project).entries).toHaveLength(1);
  });

  it("creates an empty migration for hand-written SQL with --empty (drizzle-kit generate --custom)", async () => {
    expect((await cli(["create", "init"])).exitCode).toBe(0);
    const empty = await cli(["create", "backfill", "--empty"]);
    expect(empty.exitCode, empty.stderr).toBe(0);
    expect(readJournalOf(project).entries.map((entry) => entry.tag)).toEqual(["0000_init", "0001_backfill"]);
    expect(readFileSync(join(project.dir, "drizzle", "0001_backfill.down.sql"), "utf8")).toContain("write the statements that reverse it");
  });

  it("reports a failing drizzle-kit generate as a failed child process, with its output", async () => {
    project.write("src/db/schema.ts", "export const broken = ;\n");
    const result = await cli(["create", "broken"]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('"drizzle-kit generate" failed');
    expect(result.stderr).toContain('ERROR: Unexpected ";"');
    expect(readJournalOf(project).entries).toHaveLength(0);
  });
});
