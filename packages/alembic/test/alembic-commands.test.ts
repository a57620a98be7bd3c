import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listColumns, listTables, type TestDatabase } from "@polymigrate/testing";
import { createAlembicAdapter, inspectWithAlembic, readAlembicProject } from "../src/index.js";
import { copyExample, readAlembicVersion, REVISIONS, type AlembicTestProject } from "./alembic-project.js";

let database: TestDatabase;
let project: AlembicTestProject;

beforeEach(async () => {
  database = await createTestDatabase("pm_alembic");
  project = copyExample();
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

async function indexNames(): Promise<string[]> {
  const rows = await database.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname");
  return rows.map((row) => row.indexname);
}

async function hasEnum(name: string): Promise<boolean> {
  return (await database.query("SELECT 1 FROM pg_type WHERE typname = $1", [name])).length === 1;
}

describe("the example, through the migrate CLI and the real Alembic", () => {
  it("status, plan, up, history and down (one step, to a revision, to base) agree with alembic_version and the catalog", { timeout: 180_000 }, async () => {
    const [users, posts, index] = REVISIONS;

    const before = await project.migrateJson(["status"], database.url);
    expect(before.result.exitCode).toBe(0);
    expect(before.report.projects[0]?.status).toEqual(REVISIONS.map((id) => ({ id, name: expect.any(String), state: "pending" })));
    // status reads alembic_version without creating it.
    expect(await listTables(database)).toEqual([]);

    const plan = await project.migrateJson(["plan"], database.url);
    expect(plan.result.exitCode).toBe(0);
    const planned = plan.report.projects[0]?.migrations ?? [];
    expect(planned.map((migration) => migration.id)).toEqual([...REVISIONS]);
    expect(planned[0]?.sql).toContain("CREATE TABLE users");
    expect(planned[1]?.sql).toContain("CREATE TYPE post_status AS ENUM");
    expect(planned[1]?.sql).toContain("REFERENCES users (id) ON DELETE CASCADE");
    expect(planned[2]?.sql).toContain("CREATE INDEX ix_posts_author_id_created_at");
    expect(planned[2]?.sql).not.toContain("CREATE TABLE users");
    // plan is offline: nothing was created.
    expect(await listTables(database)).toEqual([]);

    const up = await project.migrateJson(["up"], database.url);
    expect(up.result.exitCode, up.result.stderr).toBe(0);
    const applied = up.report.projects[0]?.migrations ?? [];
    expect(applied.map(({ id, outcome }) => ({ id, outcome }))).toEqual(REVISIONS.map((id) => ({ id, outcome: "applied" })));
    for (const migration of applied) expect(migration.durationMs).toBeGreaterThanOrEqual(0);
    expect(await readAlembicVersion(database)).toEqual([index]);
    expect(await listTables(database)).toEqual(["alembic_version", "posts", "users"]);
    expect(await listColumns(database, "users")).toContain("bio text");
    expect(await indexNames()).toContain("ix_posts_author_id_created_at");
    expect(await hasEnum("post_status")).toBe(true);

    const status = await project.migrateJson(["status"], database.url);
    expect(status.report.projects[0]?.status?.map(({ id, state }) => ({ id, state }))).toEqual(REVISIONS.map((id) => ({ id, state: "applied" })));

    const history = await project.migrateJson(["history"], database.url);
    expect(history.report.projects[0]?.history?.map(({ id, status: state }) => ({ id, state }))).toEqual(
      REVISIONS.map((id) => ({ id, state: "applied" })),
    );

    const again = await project.migrateJson(["up"], database.url);
    expect(again.result.exitCode).toBe(0);
    expect(again.report.projects[0]?.migrations).toEqual([]);

    const oneStep = await project.migrateJson(["down"], database.url);
    expect(oneStep.result.exitCode, oneStep.result.stderr).toBe(0);
    expect(oneStep.report.projects[0]?.migrations.map(({ id, outcome }) => ({ id, outcome }))).toEqual([{ id: index, outcome: "rolled-back" }]);
    expect(await readAlembicVersion(database)).toEqual([posts]);
    expect(await listColumns(database, "users")).not.toContain("bio text");
    expect(await indexNames()).not.toContain("ix_posts_author_id_created_at");

    await project.migrate(["up"], database.url);
    expect(await readAlembicVersion(database)).toEqual([index]);
    const toRevision = await project.migrateJson(["down", "--to", users], database.url);
    expect(toRevision.result.exitCode, toRevision.result.stderr).toBe(0);
    expect(toRevision.report.projects[0]?.migrations.map((migration) => migration.id)).toEqual([index, posts]);
    expect(await readAlembicVersion(database)).toEqual([users]);
    expect(await listTables(database)).toEqual(["alembic_version", "users"]);
    expect(await hasEnum("post_status")).toBe(false);

    const toBase = await project.migrateJson(["down", "--to", "base"], database.url);
    expect(toBase.result.exitCode, toBase.result.stderr).toBe(0);
    expect(toBase.report.projects[0]?.migrations.map((migration) => migration.id)).toEqual([users]);
    expect(await readAlembicVersion(database)).toEqual([]);
    expect(await listTables(database)).toEqual(["alembic_version"]);

    const after = await project.migrateJson(["status"], database.url);
    expect(after.report.projects[0]?.status?.map((entry) => entry.state)).toEqual(["pending", "pending", "pending"]);
  });

  it("up --to applies up to a revision; resolve rewrites alembic_version as alembic stamp would", { timeout: 120_000 }, async () => {
    const [users, posts, index] = REVISIONS;
    const up = await project.migrateJson(["up", "--to", posts], database.url);
    expect(up.result.exitCode, up.result.stderr).toBe(0);
    expect(up.report.projects[0]?.migrations.map((migration) => migration.id)).toEqual([users, posts]);
    expect(await readAlembicVersion(database)).toEqual([posts]);

    // The index revision's effect done by hand, then recorded without running it.
    await database.query("CREATE INDEX ix_posts_author_id_created_at ON posts (author_id, created_at)");
    await database.query("ALTER TABLE users ADD COLUMN bio text");
    const resolved = await project.migrate(["resolve", "--applied", index], database.url);
    expect(resolved.exitCode, resolved.stderr).toBe(0);
    expect(await readAlembicVersion(database)).toEqual([index]);

    const rolledBack = await project.migrate(["resolve", "--rolled-back", index], database.url);
    expect(rolledBack.exitCode, rolledBack.stderr).toBe(0);
    expect(await readAlembicVersion(database)).toEqual([posts]);
  });

  it("every revision of the example has a downgrade that undoes its upgrade (migrate verify)", { timeout: 240_000 }, async () => {
    const verify = await project.migrate(["verify"], database.url);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    for (const id of REVISIONS) expect(verify.stdout).toMatch(new RegExp(`✓ ${id}\\s+down and up agree with the schema`));
    // verify works on a throwaway database: the target is untouched.
    expect(await listTables(database)).toEqual([]);
  });

  it("reads the revision graph from the files exactly as Alembic's own API does, and agrees on the current revision", async () => {
    const adapter = createAlembicAdapter({ dir: project.dir });
    const migrations = await adapter.readMigrations();
    const inspection = await inspectWithAlembic(readAlembicProject(project.dir));
    expect(inspection.alembicVersion).toBe("1.8.1");
    expect(migrations.map((migration) => migration.id)).toEqual(inspection.revisions.map((revision) => revision.revision));
    expect(migrations.map((migration) => ({ name: migration.name, file: migration.file, down: migration.meta?.downRevisions }))).toEqual(
      inspection.revisions.map((revision) => ({ name: revision.message, file: revision.path, down: revision.downRevisions })),
    );
    expect(migrations.filter((migration) => migration.meta?.isHead).map((migration) => migration.id)).toEqual(inspection.heads);

    await project.migrate(["up", "--to", REVISIONS[1]], database.url);
    const withDatabase = await inspectWithAlembic(readAlembicProject(project.dir), {}, { url: database.url });
    expect(withDatabase.current).toEqual([REVISIONS[1]]);
    expect(await readAlembicVersion(database)).toEqual(withDatabase.current);
  });
});
