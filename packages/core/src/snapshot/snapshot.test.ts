import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Migration } from "../model/migration.js";
import { pgEnvironment } from "./pg-tools.js";
import { createSnapshotFolder, describeSnapshotDatabase, findCoveringSnapshot, newSnapshotId, writeSnapshotManifest, type SnapshotManifest } from "./snapshot-manifest.js";
import { findTouchedRelations } from "./touched-tables.js";

const migration = (id: string, sql?: string): Migration => ({ id, name: id, order: 0, checksum: "", file: `${id}.sql`, ...(sql === undefined ? {} : { sql }) });

describe("findTouchedRelations", () => {
  it("names the relations each kind of statement touches, and whether data is destroyed", async () => {
    const touched = await findTouchedRelations([
      migration(
        "0001",
        `CREATE TABLE fresh (id int);
         ALTER TABLE app.users ADD COLUMN age int;
         CREATE INDEX ON orders (total);
         ALTER TABLE accounts RENAME TO members;
         INSERT INTO audit VALUES (1);
         CREATE TRIGGER t BEFORE INSERT ON logs FOR EACH ROW EXECUTE FUNCTION f();
         DROP INDEX old_idx;`,
      ),
    ]);
    expect(touched).toEqual({ relations: ["accounts", "app.users", "audit", "logs", "old_idx", "orders"], destroysData: false });
  });

  it.each([
    ["ALTER TABLE users DROP COLUMN email", "users"],
    ["ALTER TABLE users ALTER COLUMN age TYPE smallint", "users"],
    ["DROP TABLE public.users", "public.users"],
    ["UPDATE users SET age = 0", "users"],
    ["DELETE FROM users WHERE age < 0", "users"],
    ["TRUNCATE users, orders", "users"],
  ])("%s destroys data of %s", async (sql, relation) => {
    const touched = await findTouchedRelations([migration("0001", sql)]);
    expect(touched.destroysData).toBe(true);
    expect(touched.relations).toContain(relation);
    expect(touched.cannotTell).toBeUndefined();
  });

  it.each([
    [migration("0001_code"), '"0001_code" is code, not SQL'],
    [migration("0001", "DO $$ BEGIN PERFORM 1; END $$;"), '"0001" line 1 is a DoStmt the snapshot cannot place'],
    [migration("0001", "DROP SCHEMA app CASCADE;"), '"0001" drops a schema'],
    [migration("0001", "CREATE TABLE (;"), `PostgreSQL's parser cannot read "0001"`],
  ])("cannot tell for %#", async (input, reason) => {
    expect((await findTouchedRelations([input])).cannotTell).toBe(reason);
  });
});

describe("snapshot identity", () => {
  it("passes the connection as libpq variables, password included, for the environment only", () => {
    expect(pgEnvironment("postgresql://app:p%40ss@db.example.com:6543/shop?sslmode=require")).toEqual({
      PGHOST: "db.example.com",
      PGPORT: "6543",
      PGUSER: "app",
      PGPASSWORD: "p@ss",
      PGDATABASE: "shop",
      PGSSLMODE: "require",
    });
  });

  it("describes the database without its password, and makes sortable ids", () => {
    const database = describeSnapshotDatabase("postgresql://app:secret@db:5432/shop?password=other");
    expect(JSON.stringify(database)).not.toMatch(/secret|other/);
    expect(database).toMatchObject({ name: "shop", host: "db", port: "5432" });
    const early = newSnapshotId("web", new Date("2026-01-02T03:04:05.006Z"));
    expect(early).toBe("20260102T030405006Z-web");
    expect([newSnapshotId("web", new Date("2026-01-02T03:04:06Z")), early].sort()[0]).toBe(early);
  });
});

describe("findCoveringSnapshot", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("picks the newest snapshot of this project and database taken before the migrations", () => {
    dir = mkdtempSync(join(tmpdir(), "polymigrate-snapshots-"));
    const save = (applied: string[], project = "app", name = "shop") => {
      const { id, folder } = createSnapshotFolder(dir!, project);
      const manifest = { id, project, database: { name }, applied, pending: [] } as unknown as SnapshotManifest;
      writeSnapshotManifest(folder, manifest);
      return id;
    };
    const first = save(["0001"]);
    const second = save(["0001", "0002"]);
    save(["0001"], "other");
    save(["0001"], "app", "elsewhere");
    const url = "postgresql://app@db/shop";
    expect(findCoveringSnapshot(dir, { project: "app", url, ids: ["0003"], appliedNow: ["0001", "0002", "0003"] })?.id).toBe(second);
    expect(findCoveringSnapshot(dir, { project: "app", url, ids: ["0002", "0003"], appliedNow: ["0001", "0002", "0003"] })?.id).toBe(first);
    expect(findCoveringSnapshot(dir, { project: "app", url, ids: ["0001"], appliedNow: ["0001"] })).toBeUndefined();
  });
});
