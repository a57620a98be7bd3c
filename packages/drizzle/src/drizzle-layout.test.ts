import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { loadSqlParser, splitStatements } from "@polymigrate/core";
import { readDrizzleMigrations, splitOnBreakpoints } from "./drizzle-layout.js";

let out: string;

function folder(entries: Array<{ tag: string; when: number; sql: string }>): string {
  out = mkdtempSync(join(tmpdir(), "drizzle-layout-"));
  mkdirSync(join(out, "meta"));
  writeFileSync(
    join(out, "meta", "_journal.json"),
    JSON.stringify({
      version: "7",
      dialect: "postgresql",
      entries: entries.map((entry, idx) => ({ idx, version: "7", when: entry.when, tag: entry.tag, breakpoints: true })),
    }),
  );
  for (const entry of entries) writeFileSync(join(out, `${entry.tag}.sql`), entry.sql);
  return out;
}

const FILES = [
  {
    tag: "0000_init",
    when: 1700000000000,
    sql: 'CREATE TYPE "public"."role" AS ENUM(\'admin\', \'member\');--> statement-breakpoint\nCREATE TABLE "users" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"name" text DEFAULT \'é—ü\'\n);\n',
  },
  {
    tag: "0001_windows",
    when: 1700000000100,
    sql: 'ALTER TABLE "users" ADD COLUMN "bio" text;\r\n--> statement-breakpoint\r\nCREATE INDEX "users_bio_idx" ON "users" ("bio");\r\n',
  },
  {
    tag: "0002_do_block",
    when: 1700000000200,
    sql: "DO $$ BEGIN\n CREATE TYPE mood AS ENUM ('ok');\nEXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;\n--> statement-breakpoint\nSELECT 1;",
  },
];

beforeAll(() => loadSqlParser());
afterEach(() => rmSync(out, { recursive: true, force: true }));

describe("readDrizzleMigrations", () => {
  it("hashes and orders files exactly as drizzle-orm's own readMigrationFiles", () => {
    folder(FILES);
    const ours = readDrizzleMigrations(out);
    const theirs = readMigrationFiles({ migrationsFolder: out });
    expect(ours.map((migration) => migration.checksum)).toEqual(theirs.map((migration) => migration.hash));
    expect(ours.map((migration) => migration.meta?.when)).toEqual(theirs.map((migration) => migration.folderMillis));
    expect(ours.map((migration) => splitOnBreakpoints(migration.sql ?? ""))).toEqual(theirs.map((migration) => migration.sql));
    expect(ours.map((migration) => [migration.id, migration.name, migration.order])).toEqual([
      ["0000_init", "init", 0],
      ["0001_windows", "windows", 1],
      ["0002_do_block", "do_block", 2],
    ]);
  });

  // Why the core may split a drizzle file with PostgreSQL's parser: the breakpoint is an SQL comment, and the parser
  // finds the same statements drizzle's split does (DO blocks included), each with its line.
  it("splits into the same statements with PostgreSQL's parser as on the breakpoints", () => {
    const normalize = (text: string) => text.replace(/--> statement-breakpoint/g, "").trim().replace(/;$/, "").trim();
    for (const file of FILES) {
      const byParser = splitStatements(file.sql).statements.map((statement) => normalize(statement.text));
      const byBreakpoint = splitOnBreakpoints(file.sql).map(normalize).filter(Boolean);
      expect(byParser).toEqual(byBreakpoint);
    }
  });

  it("refuses a journal entry whose file is missing, naming it", () => {
    folder(FILES.slice(0, 1));
    rmSync(join(out, "0000_init.sql"));
    expect(() => readDrizzleMigrations(out)).toThrow(/lists "0000_init", but ".*0000_init\.sql" does not exist/);
  });

  it("reads no migrations from a folder drizzle-kit has not created yet", () => {
    out = mkdtempSync(join(tmpdir(), "drizzle-layout-"));
    expect(readDrizzleMigrations(join(out, "drizzle"))).toEqual([]);
  });
});
