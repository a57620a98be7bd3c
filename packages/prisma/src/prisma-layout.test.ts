import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { createTestProject, type TestProject } from "@polymigrate/testing";
import { readCommentedDownSection, readPrismaMigrations, resolvePrismaLayout } from "./prisma-layout.js";

const projects: TestProject[] = [];
function project(files: Record<string, string>): TestProject {
  const created = createTestProject(files);
  projects.push(created);
  return created;
}
afterEach(() => {
  for (const created of projects.splice(0)) created.remove();
});

describe("resolvePrismaLayout", () => {
  it("defaults to prisma/schema.prisma and prisma/migrations", () => {
    const app = project({ "prisma/schema.prisma": "" });
    expect(resolvePrismaLayout(app.dir)).toEqual({
      dir: app.dir,
      schemaPath: join(app.dir, "prisma", "schema.prisma"),
      migrationsDir: join(app.dir, "prisma", "migrations"),
    });
  });

  it("reads the schema and migrations paths from prisma.config.ts", () => {
    const app = project({
      "prisma.config.ts": `export default defineConfig({ schema: "db/app.prisma", migrations: { path: "db/history", seed: "node seed.js" } });`,
    });
    const layout = resolvePrismaLayout(app.dir);
    expect(layout.schemaPath).toBe(join(app.dir, "db", "app.prisma"));
    expect(layout.migrationsDir).toBe(join(app.dir, "db", "history"));
    expect(layout.configFile).toBe(join(app.dir, "prisma.config.ts"));
  });

  it("reads package.json#prisma.schema, with the migrations beside the schema", () => {
    const app = project({ "package.json": JSON.stringify({ prisma: { schema: "schema/main.prisma" } }) });
    const layout = resolvePrismaLayout(app.dir);
    expect(layout.schemaPath).toBe(join(app.dir, "schema", "main.prisma"));
    expect(layout.migrationsDir).toBe(join(app.dir, "schema", "migrations"));
  });
});

describe("readPrismaMigrations", () => {
  it("reads folders in name order with their down.sql, the checksum over the file's bytes", () => {
    const app = project({
      "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
      "prisma/migrations/20250102000000_posts/migration.sql": "CREATE TABLE posts ();\r\n",
      "prisma/migrations/20250101000000_init/migration.sql": "CREATE TABLE users ();\n",
      "prisma/migrations/20250101000000_init/down.sql": "DROP TABLE users;\n",
    });
    const migrations = readPrismaMigrations(join(app.dir, "prisma", "migrations"));
    expect(migrations.map((migration) => [migration.id, migration.name, migration.order])).toEqual([
      ["20250101000000_init", "init", 0],
      ["20250102000000_posts", "posts", 1],
    ]);
    expect(migrations[0]!.down?.sql).toBe("DROP TABLE users;\n");
    expect(migrations[1]!.down).toBeUndefined();
    // Over the bytes as they are, CRLF included, as Prisma computes it.
    expect(migrations[1]!.checksum).toBe(createHash("sha256").update(Buffer.from("CREATE TABLE posts ();\r\n")).digest("hex"));
  });

  it("refuses a provider other than postgresql, and a folder without migration.sql", () => {
    const mysql = project({ "prisma/migrations/migration_lock.toml": 'provider = "mysql"\n' });
    expect(() => readPrismaMigrations(join(mysql.dir, "prisma", "migrations"))).toThrow(/written for "mysql"/);
    const broken = project({ "prisma/migrations/20250101000000_init/notes.txt": "" });
    expect(() => readPrismaMigrations(join(broken.dir, "prisma", "migrations"))).toThrow(/has no migration.sql/);
  });

  it("reads the seed's commented -- Down section when there is no down.sql, which wins when both exist", () => {
    const sql = "-- Up\nCREATE TABLE users (id int);\nCREATE INDEX users_id ON users (id);\n\n-- Down\n-- DROP INDEX users_id;\n-- DROP TABLE users;\n";
    expect(readCommentedDownSection(sql, "/m/migration.sql")).toEqual({
      sql: "DROP INDEX users_id;\nDROP TABLE users;\n",
      file: "/m/migration.sql",
      line: 6,
    });
    expect(readCommentedDownSection("CREATE TABLE t (id int);\n-- a comment\n", "/m/migration.sql")).toBeUndefined();
    const app = project({
      "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
      "prisma/migrations/20250101000000_init/migration.sql": "CREATE TABLE a (id int);\n-- Down\n-- DROP TABLE a;\n",
      "prisma/migrations/20250102000000_both/migration.sql": "CREATE TABLE b (id int);\n-- Down\n-- DROP TABLE b CASCADE;\n",
      "prisma/migrations/20250102000000_both/down.sql": "DROP TABLE b;\n",
    });
    const [init, both] = readPrismaMigrations(join(app.dir, "prisma", "migrations"));
    expect(init!.down).toMatchObject({ sql: "DROP TABLE a;\n", line: 3 });
    expect(both!.down?.sql).toBe("DROP TABLE b;\n");
  });
});
