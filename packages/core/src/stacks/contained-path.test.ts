import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findInvalidUtf8Offset, isEmptySql, isPathInside, readMigrationFile, resolveContainedPath } from "./contained-path.js";

let base: string;
let project: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "contained-"));
  project = join(base, "project");
  mkdirSync(join(project, "migrations"), { recursive: true });
  writeFileSync(join(base, "outside.sql"), "DROP TABLE users;\n");
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function refusal(work: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    work();
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error("expected a refusal");
}

describe("isPathInside", () => {
  it("tells a folder's own files from a sibling whose name starts with two dots", () => {
    expect(isPathInside("/p", "/p")).toBe(true);
    expect(isPathInside("/p", "/p/a/b.sql")).toBe(true);
    expect(isPathInside("/p", "/p/..hidden.sql")).toBe(true);
    expect(isPathInside("/p", "/outside.sql")).toBe(false);
    expect(isPathInside("/p", "/pq/a.sql")).toBe(false);
  });
});

describe("resolveContainedPath", () => {
  it("refuses an entry that climbs out of the project, naming the entry", () => {
    const error = refusal(() => resolveContainedPath(join(project, "../outside.sql"), { root: project, entry: 'the journal entry "../outside"' }));
    expect(error.code).toBe("MIGRATIONS_INVALID");
    expect(error.message).toContain('The journal entry "../outside" names');
    expect(error.message).toContain(join(base, "outside.sql"));
  });

  it("refuses an entry that climbs out of its migrations folder even when it stays in the project", () => {
    const migrations = join(project, "migrations");
    const error = refusal(() => resolveContainedPath(join(migrations, "../outside.sql"), { root: project, within: migrations, entry: "the entry" }));
    expect(error.message).toContain(`outside the migrations folder "${migrations}"`);
  });

  it("refuses a symbolic link out of the project unless the project allows it", () => {
    const link = join(project, "migrations", "0001_link.sql");
    symlinkSync(join(base, "outside.sql"), link);
    const error = refusal(() => resolveContainedPath(link, { root: project, entry: 'the migration "0001_link"' }));
    expect(error.message).toContain(`symbolic link from "${link}" to "${join(base, "outside.sql")}"`);
    expect(error.message).toContain('"allowSymlinksOutside": true');
    expect(resolveContainedPath(link, { root: project, entry: "x", allowSymlinksOutside: true })).toBe(link);
  });

  it("accepts a link that stays inside the project, and a project folder reached through a link", () => {
    writeFileSync(join(project, "shared.sql"), "SELECT 1;\n");
    symlinkSync(join(project, "shared.sql"), join(project, "migrations", "0001_shared.sql"));
    expect(resolveContainedPath(join(project, "migrations", "0001_shared.sql"), { root: project, entry: "x" })).toBe(join(project, "migrations", "0001_shared.sql"));
    symlinkSync(project, join(base, "alias"));
    expect(resolveContainedPath(join(base, "alias", "shared.sql"), { root: join(base, "alias"), entry: "x" })).toBe(join(base, "alias", "shared.sql"));
  });

  it("refuses a folder linked out of the project for the files below it, even ones that do not exist yet", () => {
    mkdirSync(join(base, "elsewhere"));
    symlinkSync(join(base, "elsewhere"), join(project, "linked"));
    expect(refusal(() => resolveContainedPath(join(project, "linked", "new.sql"), { root: project, entry: "x" })).code).toBe("MIGRATIONS_INVALID");
  });
});

describe("readMigrationFile", () => {
  it("returns the bytes and the text, a byte order mark kept so that the text encodes back to the bytes", () => {
    const file = join(project, "migrations", "0001_bom.sql");
    writeFileSync(file, Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from("SELECT 'é';\r\n")]));
    const read = readMigrationFile(file, { root: project, entry: "x" });
    expect(read.text.charCodeAt(0)).toBe(0xfeff);
    expect(Buffer.from(read.text, "utf8").equals(read.bytes)).toBe(true);
  });

  it("refuses a file that is not UTF-8 with its path and the offset of the first invalid byte", () => {
    const file = join(project, "migrations", "0001_latin1.sql");
    writeFileSync(file, Buffer.concat([Buffer.from("CREATE TABLE caf"), Buffer.from([0xe9]), Buffer.from(" (id int);\n")]));
    const error = refusal(() => readMigrationFile(file, { root: project, entry: "x" }));
    expect(error.code).toBe("MIGRATIONS_INVALID");
    expect(error.message).toContain(`"${file}" is not valid UTF-8: the byte at offset 16 (0xe9)`);
    expect(error.details).toMatchObject({ file, offset: 16 });
  });

  it("refuses a file above the project's limit, naming the setting that raises it", () => {
    const file = join(project, "migrations", "0001_big.sql");
    writeFileSync(file, "SELECT 1;\n".repeat(100));
    const error = refusal(() => readMigrationFile(file, { root: project, entry: "x", maxMigrationBytes: 999 }));
    expect(error.message).toContain("is 1000 bytes, more than the 999 bytes");
    expect(error.message).toContain('"maxMigrationBytes"');
    expect(readMigrationFile(file, { root: project, entry: "x", maxMigrationBytes: 1000 }).bytes.length).toBe(1000);
  });
});

describe("findInvalidUtf8Offset", () => {
  it("finds overlong forms, surrogates, truncated sequences and stray continuation bytes", () => {
    expect(findInvalidUtf8Offset(Buffer.from("plain é 😀"))).toBeUndefined();
    expect(findInvalidUtf8Offset(Uint8Array.from([0x41, 0xc0, 0x80]))).toBe(1);
    expect(findInvalidUtf8Offset(Uint8Array.from([0x41, 0x42, 0xed, 0xa0, 0x80]))).toBe(2);
    expect(findInvalidUtf8Offset(Uint8Array.from([0x41, 0xe2, 0x82]))).toBe(1);
    expect(findInvalidUtf8Offset(Uint8Array.from([0x80]))).toBe(0);
    expect(findInvalidUtf8Offset(Uint8Array.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
  });
});

describe("isEmptySql", () => {
  it("is true for white space, line and nested block comments and semicolons only", () => {
    expect(isEmptySql("")).toBe(true);
    expect(isEmptySql("\ufeff\n  ;\n")).toBe(true);
    expect(isEmptySql("-- nothing yet\n/* a /* nested */ comment */\n--> statement-breakpoint\n")).toBe(true);
  });

  it("is false as soon as a statement starts, whatever comes after", () => {
    expect(isEmptySql("-- c\nSELECT '--';")).toBe(false);
    expect(isEmptySql("/* unterminated")).toBe(false);
    expect(isEmptySql("SELECT 1 /* c */")).toBe(false);
  });
});
