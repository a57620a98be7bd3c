import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MigrateEvent, Migration, NativeSession, NativeStep, StackAdapter } from "@polymigrate/core";
import { createTestDatabase, listTables, type TestDatabase } from "@polymigrate/testing";
import { createAlembicAdapter, inspectWithAlembic, readAlembicProject } from "../src/index.js";
import { copyExample, readAlembicVersion, REVISIONS, revisionFile, type AlembicTestProject } from "./alembic-project.js";

let database: TestDatabase;
let project: AlembicTestProject;
const HEAD = REVISIONS[2];
const FAILING_GUARD = "DO $$ BEGIN RAISE EXCEPTION 'lost the migration lock' USING ERRCODE = 'PMLCK'; END $$";
const PGOPTIONS = "-c client_connection_check_interval=200";

beforeEach(async () => {
  database = await createTestDatabase("pm_alembic");
  project = copyExample();
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

interface Opened {
  adapter: StackAdapter;
  session: NativeSession;
  migrations: Map<string, Migration>;
  events: MigrateEvent[];
}

async function open(applicationName = "polymigrate-test"): Promise<Opened> {
  const adapter = createAlembicAdapter({ dir: project.dir });
  const events: MigrateEvent[] = [];
  const session = await adapter.native!.open({
    url: database.url,
    env: { PGOPTIONS, PGAPPNAME: applicationName },
    emit: (event) => events.push(event),
    project: "app",
  });
  const migrations = new Map((await adapter.readMigrations()).map((migration) => [migration.id, migration]));
  return { adapter, session, migrations, events };
}

function step(opened: Opened, id: string, overrides: Partial<NativeStep> = {}): NativeStep {
  return { migration: opened.migrations.get(id)!, direction: "up", recordStartedSql: "SELECT 1", guardSql: "SELECT 1", ...overrides };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const isSleeping = (applicationName: string) => async () =>
  (await database.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%' AND state = 'active'", [applicationName])).length > 0;

describe("one Alembic helper per run", () => {
  it("applies each revision exactly once, and alembic_version agrees with Alembic's own current", { timeout: 60_000 }, async () => {
    project.write(
      "alembic/versions/aaaa00000001_count.py",
      revisionFile("aaaa00000001", HEAD, "count", "op.execute('CREATE TABLE counter (n int)')\n    op.execute('INSERT INTO counter VALUES (1)')"),
    );
    const opened = await open();
    try {
      for (const id of [...REVISIONS, "aaaa00000001"]) {
        const result = await opened.session.run(step(opened, id));
        expect(result, id).toMatchObject({ isSuccess: true, transactional: true });
        expect(result.durationMs).toBeGreaterThanOrEqual(0);
      }
      // Asked again, Alembic has nothing to do: the revision is not run a second time.
      expect(await opened.session.run(step(opened, "aaaa00000001"))).toMatchObject({ isSuccess: true });
    } finally {
      await opened.session.close();
    }
    expect(await database.query("SELECT n FROM counter")).toEqual([{ n: 1 }]);
    expect(await readAlembicVersion(database)).toEqual(["aaaa00000001"]);
    const inspection = await inspectWithAlembic(readAlembicProject(project.dir), {}, { url: database.url });
    expect(inspection.current).toEqual(["aaaa00000001"]);
  });

  it("reports a failing revision with psycopg2's SQLSTATE, the statement, and the revision's file and line", { timeout: 60_000 }, async () => {
    const file = project.write(
      "alembic/versions/bbbb00000002_broken.py",
      revisionFile("bbbb00000002", REVISIONS[0], "broken", "op.execute('CREATE TABLE half_done (id int)')\n    op.execute('ALTER TABLE missing_table ADD COLUMN x integer')"),
    );
    const opened = await open();
    try {
      expect((await opened.session.run(step(opened, REVISIONS[0]))).isSuccess).toBe(true);
      const result = await opened.session.run(step(opened, "bbbb00000002"));
      expect(result.isSuccess).toBe(false);
      expect(result.error).toMatchObject({
        message: 'relation "missing_table" does not exist',
        sqlState: "42P01",
        statement: "ALTER TABLE missing_table ADD COLUMN x integer",
        file,
        line: 21,
      });
      expect(result.error?.stderrTail).toContain("Running upgrade 949954c2be59 -> bbbb00000002, broken");
      expect(result.error?.stderrTail).toContain("psycopg2.errors.UndefinedTable");
      expect(result.error?.stderrTail).not.toContain("dist-packages");
    } finally {
      await opened.session.close();
    }
    expect(await readAlembicVersion(database)).toEqual([REVISIONS[0]]);
    expect(await listTables(database)).not.toContain("half_done");
  });

  it("rolls a revision back when the guard fails before its commit (table absent, alembic_version unchanged), and says it was the guard", { timeout: 60_000 }, async () => {
    const opened = await open();
    try {
      expect((await opened.session.run(step(opened, REVISIONS[0]))).isSuccess).toBe(true);
      const result = await opened.session.run(step(opened, REVISIONS[1], { guardSql: FAILING_GUARD }));
      expect(result).toMatchObject({ isSuccess: false, transactional: true, error: { sqlState: "PMLCK", message: "lost the migration lock" } });
      expect(await listTables(database)).not.toContain("posts");
      expect(await readAlembicVersion(database)).toEqual([REVISIONS[0]]);
      // The helper stays usable for the next step.
      expect((await opened.session.run(step(opened, REVISIONS[1]))).isSuccess).toBe(true);
    } finally {
      await opened.session.close();
    }
    expect(await readAlembicVersion(database)).toEqual([REVISIONS[1]]);
  });

  it("records an autocommit revision as started once, before its first autocommit statement, and guards each statement", { timeout: 60_000 }, async () => {
    await database.query("CREATE TABLE started (id text); CREATE TABLE guarded (n serial)");
    project.write(
      "alembic/versions/cccc00000003_concurrently.py",
      revisionFile(
        "cccc00000003",
        REVISIONS[0],
        "concurrently",
        [
          "op.execute('CREATE TABLE seen (what text, started bigint)')",
          "    with op.get_context().autocommit_block():",
          "        op.execute(\"INSERT INTO seen SELECT 'first', count(*) FROM started\")",
          "        op.execute('CREATE INDEX CONCURRENTLY users_name ON users (name)')",
          "        op.execute(\"INSERT INTO seen SELECT 'last', count(*) FROM started\")",
        ].join("\n"),
      ),
    );
    const opened = await open();
    try {
      const first = await opened.session.run(
        step(opened, REVISIONS[0], { recordStartedSql: "INSERT INTO started VALUES ('949954c2be59')", guardSql: "INSERT INTO guarded DEFAULT VALUES" }),
      );
      expect(first).toMatchObject({ isSuccess: true, transactional: true });
      await database.query("TRUNCATE guarded");
      const result = await opened.session.run(
        step(opened, "cccc00000003", { recordStartedSql: "INSERT INTO started VALUES ('cccc00000003')", guardSql: "INSERT INTO guarded DEFAULT VALUES" }),
      );
      expect(result).toMatchObject({ isSuccess: true, transactional: false });
    } finally {
      await opened.session.close();
    }
    expect(await database.query("SELECT id FROM started")).toEqual([{ id: "cccc00000003" }]);
    expect(await database.query("SELECT what, started::int FROM seen ORDER BY what")).toEqual([
      { what: "first", started: 1 },
      { what: "last", started: 1 },
    ]);
    // Each guard ran inside the transaction it checked, or alone before an autocommit statement: before the commit that
    // opens the autocommit block, before each of the block's 3 statements, and before the last commit (of
    // alembic_version).
    expect(Number((await database.query<{ count: string }>("SELECT count(*) FROM guarded"))[0]?.count)).toBe(5);
    expect(await readAlembicVersion(database)).toEqual(["cccc00000003"]);
  });

  it("stops a failing guard before an autocommit statement runs", { timeout: 60_000 }, async () => {
    await database.query("CREATE TABLE started (id text)");
    project.write(
      "alembic/versions/cccc00000003_concurrently.py",
      revisionFile(
        "cccc00000003",
        REVISIONS[0],
        "concurrently",
        ["with op.get_context().autocommit_block():", "        op.execute('CREATE INDEX CONCURRENTLY users_name ON users (name)')"].join("\n"),
      ),
    );
    const opened = await open();
    try {
      expect((await opened.session.run(step(opened, REVISIONS[0]))).isSuccess).toBe(true);
      // Commits of the transaction before the block pass, the guard before the autocommit statement fails.
      await database.query("CREATE TABLE allowed (n int); INSERT INTO allowed VALUES (1)");
      const guard = "DO $$ BEGIN IF (SELECT count(*) FROM allowed) = 0 THEN RAISE EXCEPTION 'lost' USING ERRCODE = 'PMLCK'; END IF; DELETE FROM allowed; END $$";
      const result = await opened.session.run(step(opened, "cccc00000003", { guardSql: guard, recordStartedSql: "INSERT INTO started VALUES ('x')" }));
      expect(result).toMatchObject({ isSuccess: false, error: { sqlState: "PMLCK" } });
    } finally {
      await opened.session.close();
    }
    expect(await database.query("SELECT indexname FROM pg_indexes WHERE indexname = 'users_name'")).toEqual([]);
    expect(await database.query("SELECT id FROM started")).toEqual([]);
    expect(await readAlembicVersion(database)).toEqual([REVISIONS[0]]);
  });

  it("rolls back the revision in progress on interrupt(), and stays usable", { timeout: 60_000 }, async () => {
    project.write(
      "alembic/versions/dddd00000004_slow.py",
      revisionFile("dddd00000004", REVISIONS[0], "slow", "op.execute('CREATE TABLE slow (id int)')\n    op.execute('SELECT pg_sleep(30)')"),
    );
    const opened = await open("pm-interrupt-test");
    try {
      expect((await opened.session.run(step(opened, REVISIONS[0]))).isSuccess).toBe(true);
      const running = opened.session.run(step(opened, "dddd00000004"));
      await waitFor(isSleeping("pm-interrupt-test"));
      const startedAt = Date.now();
      opened.session.interrupt();
      const result = await running;
      expect(Date.now() - startedAt).toBeLessThan(5_000);
      expect(result).toMatchObject({ isSuccess: false, isInterrupted: true, transactional: true });
      expect(result.error?.message).toMatch(/interrupted/);
      expect(await listTables(database)).not.toContain("slow");
      expect(await readAlembicVersion(database)).toEqual([REVISIONS[0]]);
      expect((await opened.session.run(step(opened, REVISIONS[1]))).isSuccess).toBe(true);
    } finally {
      await opened.session.close();
    }
    expect(await readAlembicVersion(database)).toEqual([REVISIONS[1]]);
  });

  it("commits each revision on its own, and answers after the commit, when env.py holds a transaction of its own", { timeout: 60_000 }, async () => {
    const envFile = `${project.dir}/alembic/env.py`;
    const env = readFileSync(envFile, "utf8");
    project.write(
      "alembic/env.py",
      env.replace(
        "    with connectable.connect() as connection:\n        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)\n        with context.begin_transaction():\n            context.run_migrations()",
        "    with connectable.begin() as connection:\n        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)\n        context.run_migrations()",
      ),
    );
    expect(readFileSync(envFile, "utf8")).toContain("connectable.begin()");
    project.write("alembic/versions/bbbb00000002_broken.py", revisionFile("bbbb00000002", HEAD, "broken", "op.execute('SELECT * FROM missing_table')"));
    const opened = await open();
    try {
      for (const id of REVISIONS) {
        expect((await opened.session.run(step(opened, id))).isSuccess, id).toBe(true);
        expect(await readAlembicVersion(database)).toEqual([id]);
      }
      expect((await opened.session.run(step(opened, "bbbb00000002"))).error?.sqlState).toBe("42P01");
      const down = await opened.session.run({ ...step(opened, HEAD), direction: "down" });
      expect(down.isSuccess).toBe(true);
    } finally {
      await opened.session.close();
    }
    expect(await readAlembicVersion(database)).toEqual([REVISIONS[1]]);
  });

  it("ignores an interrupt between steps", { timeout: 60_000 }, async () => {
    const opened = await open();
    try {
      opened.session.interrupt();
      expect((await opened.session.run(step(opened, REVISIONS[0]))).isSuccess).toBe(true);
    } finally {
      await opened.session.close();
      await opened.session.close();
    }
  });
});

describe("offline SQL", () => {
  it("renders every pending revision in one helper, and skips with a warning the one that cannot render offline", { timeout: 60_000 }, async () => {
    project.write(
      "alembic/versions/ffff00000006_online_only.py",
      revisionFile("ffff00000006", HEAD, "online only", "count = op.get_bind().execute(sa.text('SELECT count(*) FROM users')).scalar()\n    op.execute('CREATE TABLE t%d (id int)' % count)"),
    );
    project.write("alembic/versions/abab00000007_after.py", revisionFile("abab00000007", "ffff00000006", "after", "op.execute('CREATE TABLE after_it (id int)')"));
    const adapter = createAlembicAdapter({ dir: project.dir });
    const events: MigrateEvent[] = [];
    const rendered = await adapter.native!.renderSql!(await adapter.readMigrations(), { url: database.url, env: {}, emit: (event) => events.push(event), project: "app" });
    expect(Object.keys(rendered).sort()).toEqual([...REVISIONS, "abab00000007"].sort());
    expect(rendered[REVISIONS[0]]).toContain("CREATE TABLE users");
    expect(rendered.abab00000007).toContain("CREATE TABLE after_it (id int);");
    const notices = events.filter((event) => event.type === "notice").map((event) => (event as { message: string }).message);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('"ffff00000006"');
    expect(await listTables(database)).toEqual([]);
  });
});

// Pids of the live (not zombie) processes whose parent is `parent`.
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === parent && fields[0] !== "Z") children.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

function isAlive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z";
  } catch {
    return false;
  }
}

// A small parent: opens the runner, runs one revision, and is killed by the test while it runs.
const PARENT_SCRIPT = `
import { createAlembicAdapter } from ${JSON.stringify(fileURLToPath(new URL("../dist/index.js", import.meta.url)))};
const [dir, url, id] = process.argv.slice(1);
const adapter = createAlembicAdapter({ dir });
const migration = (await adapter.readMigrations()).find((candidate) => candidate.id === id);
const session = await adapter.native.open({ url, env: { PGOPTIONS: ${JSON.stringify(PGOPTIONS)}, PGAPPNAME: "pm-kill-test" }, emit: () => {}, project: "app" });
console.log("running");
console.log(JSON.stringify(await session.run({ migration, direction: "up", recordStartedSql: "SELECT 1", guardSql: "SELECT 1" })));
await session.close();
`;

describe("the helper and its parent", () => {
  it("does not outlive a parent killed with SIGKILL during a revision, and the next run applies it exactly once", { timeout: 90_000 }, async () => {
    project.write(
      "alembic/versions/eeee00000005_slow.py",
      revisionFile("eeee00000005", null, "slow", "op.execute('CREATE TABLE counter (n int)')\n    op.execute('INSERT INTO counter VALUES (1)')\n    op.execute('SELECT pg_sleep(20)')"),
    );
    // Only the slow revision: a fresh history of one.
    for (const name of readdirSync(`${project.dir}/alembic/versions`)) if (!name.startsWith("eeee") && name.endsWith(".py")) rmSync(`${project.dir}/alembic/versions/${name}`);

    const parent = spawn(process.execPath, ["--input-type=module", "-e", PARENT_SCRIPT, project.dir, database.url, "eeee00000005"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    parent.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    parent.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(async () => output.includes("running")).catch(() => expect.fail(output));
    await waitFor(isSleeping("pm-kill-test"));
    const helpers = childrenOf(parent.pid!);
    expect(helpers).toHaveLength(1);
    expect(readFileSync(`/proc/${helpers[0]}/cmdline`, "utf8")).toContain("polymigrate_alembic.py");
    process.kill(parent.pid!, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(isAlive(helpers[0]!), output).toBe(false);
    // client_connection_check_interval (PGOPTIONS) lets the server notice the vanished helper and end its backend.
    await waitFor(async () => !(await isSleeping("pm-kill-test")()), 10_000);
    expect(await listTables(database)).not.toContain("counter");

    project.write("alembic/versions/eeee00000005_slow.py", revisionFile("eeee00000005", null, "slow", "op.execute('CREATE TABLE counter (n int)')\n    op.execute('INSERT INTO counter VALUES (1)')"));
    const opened = await open();
    try {
      expect((await opened.session.run(step(opened, "eeee00000005"))).isSuccess).toBe(true);
      expect((await opened.session.run(step(opened, "eeee00000005"))).isSuccess).toBe(true);
    } finally {
      await opened.session.close();
    }
    expect(await database.query("SELECT n FROM counter")).toEqual([{ n: 1 }]);
    expect(await readAlembicVersion(database)).toEqual(["eeee00000005"]);
  });

  it("exits when closed", { timeout: 60_000 }, async () => {
    const opened = await open();
    await opened.session.close();
    expect(childrenOf(process.pid).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("polymigrate_alembic.py"))).toEqual([]);
  });
});
