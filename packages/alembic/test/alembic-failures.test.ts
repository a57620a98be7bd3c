import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listColumns, listTables, type TestDatabase } from "@polymigrate/testing";
import { copyExample, readAlembicVersion, REVISIONS, revisionFile, type AlembicTestProject } from "./alembic-project.js";

let database: TestDatabase;
let project: AlembicTestProject;
const HEAD = REVISIONS[2];

beforeEach(async () => {
  database = await createTestDatabase("pm_alembic");
  project = copyExample();
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

describe("a failing revision", () => {
  it("exits 1 with the revision id, the database error and stderr's tail in the report; earlier revisions stay applied", { timeout: 120_000 }, async () => {
    const password = "failing-revision-pw";
    const url = database.urlWithPassword(password);
    project.write(
      "alembic/versions/aaaa00000001_add_nickname.py",
      revisionFile("aaaa00000001", HEAD, "add nickname", "op.add_column('users', sa.Column('nickname', sa.Text()))", "op.drop_column('users', 'nickname')"),
    );
    project.write(
      "alembic/versions/bbbb00000002_broken.py",
      revisionFile(
        "bbbb00000002",
        "aaaa00000001",
        "broken",
        "op.add_column('posts', sa.Column('half_done', sa.Integer()))\n    op.execute('ALTER TABLE missing_table ADD COLUMN x integer')",
      ),
    );
    const { result, report } = await project.migrateJson(["up"], url);
    expect(result.exitCode).toBe(1);
    expect(report.outcome).toBe("failed");
    const migrations = report.projects[0]?.migrations ?? [];
    expect(migrations.map(({ id, outcome }) => ({ id, outcome }))).toEqual([
      ...REVISIONS.map((id) => ({ id, outcome: "applied" })),
      { id: "aaaa00000001", outcome: "applied" },
      { id: "bbbb00000002", outcome: "failed" },
    ]);
    const error = migrations[4]?.error as Record<string, string>;
    expect(error.message).toContain('relation "missing_table" does not exist');
    expect(error.sqlState).toBe("42P01");
    expect(error.statement).toBe("ALTER TABLE missing_table ADD COLUMN x integer");
    expect(error.file).toMatch(/bbbb00000002_broken\.py$/);
    // The line of op.execute(...) in the revision file (revisionFile puts upgrade()'s body on line 20).
    expect(error.line).toBe(21);
    expect(error.stderrTail).toContain("psycopg2.errors.UndefinedTable");
    expect(error.stderrTail).toContain("Running upgrade aaaa00000001 -> bbbb00000002, broken");
    expect(result.stdout + result.stderr).not.toContain(password);

    // As Alembic leaves it: the failed revision's transaction rolled back, the ones before it committed.
    expect(await readAlembicVersion(database)).toEqual(["aaaa00000001"]);
    expect(await listColumns(database, "users")).toContain("nickname text");
    expect(await listColumns(database, "posts")).not.toContain("half_done integer");

    const human = await project.migrate(["up"], url);
    expect(human.exitCode).toBe(1);
    expect(human.stdout + human.stderr).toContain("bbbb00000002");
    expect(human.stdout + human.stderr).toContain('relation "missing_table" does not exist');
    expect(human.stdout + human.stderr).not.toContain(password);

    const status = await project.migrateJson(["status"], url);
    expect(status.report.projects[0]?.status?.slice(-2).map(({ id, state }) => ({ id, state }))).toEqual([
      { id: "aaaa00000001", state: "applied" },
      { id: "bbbb00000002", state: "pending" },
    ]);
  });

  it("says which Python it looked for when Alembic cannot be found, before touching the database", async () => {
    project.configure({ python: "/nonexistent/bin/python" });
    const status = await project.migrateJson(["status"], database.url);
    // status never starts Python, so the wrong interpreter does not matter to it.
    expect(status.result.exitCode).toBe(0);
    expect(status.report.projects[0]?.status).toHaveLength(3);
    const up = await project.migrateJson(["up"], database.url);
    expect(up.result.exitCode).toBe(1);
    expect(up.report.projects[0]?.error?.code).toBe("TOOL_UNAVAILABLE");
    expect(up.report.projects[0]?.error?.message).toContain('"/nonexistent/bin/python"');
    expect(up.report.projects[0]?.error?.message).toContain("apt-get install -y alembic python3-psycopg2");
    expect(await listTables(database)).toEqual(["alembic_version"]);
    expect(await readAlembicVersion(database)).toEqual([]);
  });
});

describe("a revision file read differently from Alembic", () => {
  it("is refused before anything runs, naming the difference", { timeout: 60_000 }, async () => {
    project.write(
      "alembic/versions/cccc00000003_tricky.py",
      revisionFile("cccc00000003", HEAD, "tricky", "op.create_table('tricky', sa.Column('id', sa.Integer(), primary_key=True))") +
        "\nif True:\n    down_revision = None\n",
    );
    const { result, report } = await project.migrateJson(["up"], database.url);
    expect(result.exitCode).toBe(2);
    expect(report.projects[0]?.error?.code).toBe("MIGRATIONS_INVALID");
    expect(report.projects[0]?.error?.message).toContain(`"cccc00000003" revises [] for Alembic, ["${HEAD}"] as read from its file`);
    expect(await readAlembicVersion(database)).toEqual([]);
    expect(await listTables(database)).toEqual(["alembic_version"]);
  });
});

describe("two heads", () => {
  it("status says so, up refuses without --to, and --to applies one branch at a time", { timeout: 180_000 }, async () => {
    for (const branch of ["a", "b"]) {
      project.write(
        `alembic/versions/head000000${branch}_${branch}.py`,
        revisionFile(`head000000${branch}`, HEAD, `branch ${branch}`, `op.create_table('${branch}_things', sa.Column('id', sa.Integer(), primary_key=True))`, `op.drop_table('${branch}_things')`),
      );
    }
    const status = await project.migrateJson(["status"], database.url);
    expect(status.result.exitCode).toBe(0);
    const heads = status.report.projects[0]?.problems.find((problem) => problem.kind === "stack-check");
    expect(heads?.level).toBe("warning");
    expect(heads?.message).toContain('2 heads: "head000000a" (branch a) and "head000000b" (branch b)');
    const human = await project.migrate(["status"], database.url);
    expect(human.stdout).toContain("2 heads");

    // plan renders each branch from its own down revision (offline mode takes one starting point per call).
    const plan = await project.migrateJson(["plan"], database.url);
    const planned = plan.report.projects[0]?.migrations ?? [];
    expect(planned.map((migration) => migration.id)).toEqual([...REVISIONS, "head000000a", "head000000b"]);
    expect(planned.find((migration) => migration.id === "head000000a")?.sql).toContain("CREATE TABLE a_things");
    expect(planned.find((migration) => migration.id === "head000000b")?.sql).toContain("CREATE TABLE b_things");

    const refused = await project.migrateJson(["up"], database.url);
    expect(refused.result.exitCode).toBe(2);
    expect(refused.report.projects[0]?.outcome).toBe("refused");
    expect(refused.report.projects[0]?.error?.code).toBe("USAGE");
    expect(refused.report.projects[0]?.error?.message).toContain('migrate up --to <head>');
    expect(await readAlembicVersion(database)).toEqual([]);
    expect(await listTables(database)).toEqual(["alembic_version"]);

    const branchA = await project.migrateJson(["up", "--to", "head000000a"], database.url);
    expect(branchA.result.exitCode, branchA.result.stderr).toBe(0);
    expect(branchA.report.projects[0]?.migrations.map((migration) => migration.id)).toEqual([...REVISIONS, "head000000a"]);
    expect(await readAlembicVersion(database)).toEqual(["head000000a"]);

    // Branch b is pending beside an applied branch: not "out of order" in a revision graph.
    const between = await project.migrateJson(["status"], database.url);
    expect(between.report.projects[0]?.problems.map((problem) => problem.kind)).toEqual(["stack-check"]);
    expect(between.report.projects[0]?.status?.find((entry) => entry.id === "head000000b")?.state).toBe("pending");
    expect((await project.migrate(["up"], database.url)).exitCode).toBe(2);

    const branchB = await project.migrateJson(["up", "--to", "head000000b"], database.url);
    expect(branchB.result.exitCode, branchB.result.stderr).toBe(0);
    expect(branchB.report.projects[0]?.migrations.map((migration) => migration.id)).toEqual(["head000000b"]);
    expect(await readAlembicVersion(database)).toEqual(["head000000a", "head000000b"]);
    expect(await listTables(database)).toEqual(["a_things", "alembic_version", "b_things", "posts", "users"]);

    // Undoing one branch leaves the other: `<rev>@-1`, since downgrading to the branch point would undo both.
    const down = await project.migrateJson(["down"], database.url);
    expect(down.result.exitCode, down.result.stderr).toBe(0);
    expect(down.report.projects[0]?.migrations.map((migration) => migration.id)).toEqual(["head000000b"]);
    expect(await readAlembicVersion(database)).toEqual(["head000000a"]);
    expect(await listTables(database)).toEqual(["a_things", "alembic_version", "posts", "users"]);
  });
});
