import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nextSqlMigrationId, readSqlMigrations } from "./sql-layout.js";

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "pm-sql-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe("readSqlMigrations", () => {
  it("orders by number and pairs each up with its down", () => {
    const dir = folder({ "10_b.sql": "B", "9_a.sql": "A", "9_a.down.sql": "undo A", "README.md": "x" });
    const migrations = readSqlMigrations(dir);
    expect(migrations.map((m) => [m.id, m.order, m.down?.sql])).toEqual([
      ["9_a", 0, "undo A"],
      ["10_b", 1, undefined],
    ]);
  });

  it("refuses a badly named file and a duplicate number, naming them", () => {
    expect(() => readSqlMigrations(folder({ "add_users.sql": "" }))).toThrowError(/add_users\.sql" is not named like a migration/);
    expect(() => readSqlMigrations(folder({ "1_a.sql": "", "01_b.sql": "" }))).toThrowError(/share the number/);
    expect(() => readSqlMigrations(join(tmpdir(), "pm-does-not-exist"))).toThrowError(/does not exist/);
  });
});

describe("nextSqlMigrationId", () => {
  it("continues the numbering at the width in use", () => {
    expect(nextSqlMigrationId(folder({}), "Add users!")).toBe("0001_add_users");
    expect(nextSqlMigrationId(folder({ "000009_x.sql": "" }), "y")).toBe("000010_y");
  });
});
