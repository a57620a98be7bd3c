import { createHash } from "node:crypto";
import { readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listTables, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";
import { readDrizzleMigrations } from "../src/drizzle-layout.js";
import { createDrizzleProject, writeJournalOf } from "./drizzle-project.js";

let project: TestProject;
let db: TestDatabase;
let beside: string;

beforeEach(async () => {
  project = createDrizzleProject();
  db = await createTestDatabase();
  // The temporary folder holds the project; "beside the project" is its parent.
  beside = join(dirname(project.dir), `outside-${db.name}.sql`);
  writeFileSync(beside, "CREATE TABLE leaked_beside (id int);\n");
  project.write("outside.sql", "CREATE TABLE leaked_inside (id int);\n");
  project.write("drizzle/0000_init.sql", "CREATE TABLE users (id serial PRIMARY KEY);\n");
});
afterEach(async () => {
  project.remove();
  rmSync(beside, { force: true });
  await db.drop();
});

function cli(args: string[]) {
  return runCli(args, { cwd: project.dir, env: { DIRECT_URL: db.url } });
}

function journal(...tags: string[]) {
  writeJournalOf(project, {
    version: "7",
    dialect: "postgresql",
    entries: tags.map((tag, idx) => ({ idx, version: "7", when: 1_700_000_000_000 + idx, tag, breakpoints: true })),
  });
}

async function expectNothingApplied(): Promise<void> {
  expect(await listTables(db)).toEqual([]);
  const [row] = await db.query<{ table: string | null }>("SELECT to_regclass('drizzle.__drizzle_migrations')::text AS table");
  expect(row?.table).toBeNull();
}

describe("journal entries that leave the migrations folder", () => {
  for (const [tag, where] of [
    ["../outside", "in the project folder, outside its migrations folder"],
    ["../../outside-<database>", "beside the project"],
  ] as const) {
    it(`refuses a tag such as "${tag}" (a file ${where}) for plan and up, naming the entry, applying nothing`, async () => {
      const named = tag.replace("<database>", db.name);
      journal("0000_init", named);
      for (const command of ["plan", "up"]) {
        const result = await cli([command]);
        expect(result.exitCode, result.stdout).toBe(2);
        expect(result.stderr).toContain(`The journal entry "${named}" of "${join(project.dir, "drizzle", "meta", "_journal.json")}" names`);
        expect(result.stderr).toMatch(/which is outside the (migrations|project) folder/);
      }
      await expectNothingApplied();
    });
  }
});

describe("links out of a Drizzle project", () => {
  it("refuses a migration file linked outside the project, and follows it when the project allows it", async () => {
    journal("0000_init", "0001_linked");
    symlinkSync(beside, join(project.dir, "drizzle", "0001_linked.sql"));
    const refused = await cli(["up"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/The journal entry "0001_linked" of "[^"]+_journal\.json" leads through a symbolic link/);
    await expectNothingApplied();

    project.write("migrate.config.json", JSON.stringify({ projects: [{ name: "app", stack: "drizzle", dir: ".", allowSymlinksOutside: true }] }));
    const allowed = await cli(["up"]);
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    expect(await listTables(db)).toEqual(["leaked_beside", "users"]);
  });
});

describe("Drizzle's hash over the file", () => {
  it("is drizzle-orm's own (SHA-256 of the file read as a string), which is the SHA-256 of the bytes, BOM and CRLF included", () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("CREATE TABLE café (id int);\r\n")]);
    writeFileSync(join(project.dir, "drizzle", "0000_init.sql"), bytes);
    journal("0000_init");
    const [migration] = readDrizzleMigrations(join(project.dir, "drizzle"), { root: project.dir });
    const drizzleOrm = createHash("sha256").update(readFileSync(join(project.dir, "drizzle", "0000_init.sql")).toString()).digest("hex");
    expect(migration?.checksum).toBe(drizzleOrm);
    expect(migration?.checksum).toBe(createHash("sha256").update(bytes).digest("hex"));
  });

  it("refuses a file that is not UTF-8, where drizzle-orm would hash and run U+FFFD", () => {
    writeFileSync(join(project.dir, "drizzle", "0000_init.sql"), Buffer.from([0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0xff, 0x3b]));
    journal("0000_init");
    expect(() => readDrizzleMigrations(join(project.dir, "drizzle"), { root: project.dir })).toThrow(/is not valid UTF-8: the byte at offset 7 \(0xff\)/);
  });
});
