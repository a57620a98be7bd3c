// Agreement with Prisma's own CLI (prisma 6.19.3, on its WebAssembly schema engine), against the real server: what
// `migrate` applies, `prisma migrate status` sees as applied, and the other way round; failures, resolve, changed files.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, runCli, startCli, waitFor, type TestDatabase, type TestProject } from "@polymigrate/testing";
import { createPrismaProject, exampleMigrations, readHistory, runPrismaCli, urlEnv } from "./prisma-project.js";

const PASSWORD = "pm-prisma-secret";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FAILING_ID = "20301231000000_break_things";
// The first statement succeeds, the second fails: Prisma's own deploy would leave the first applied.
const FAILING_SQL = 'CREATE TABLE "Audit" ("id" SERIAL PRIMARY KEY);\nSELECT 1 / 0;\n';

const databases: TestDatabase[] = [];
const projects: TestProject[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase("pm_prisma");
  databases.push(database);
  return database;
}

function project(options: Parameters<typeof createPrismaProject>[0] = {}): TestProject {
  const created = createPrismaProject(options);
  projects.push(created);
  return created;
}

afterEach(async () => {
  for (const database of databases.splice(0)) await database.drop();
  for (const created of projects.splice(0)) created.remove();
});

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function expectNoPassword(...outputs: string[]): void {
  for (const output of outputs) expect(output).not.toContain(PASSWORD);
}

describe("agreement with prisma migrate", { timeout: 120_000 }, () => {
  it("migrate up on an empty database: prisma migrate status reports it up to date", async () => {
    const database = await freshDatabase();
    const app = project();
    const env = urlEnv(database, PASSWORD);

    const up = await runCli(["up"], { cwd: app.dir, env });
    expect(up.exitCode, up.stderr).toBe(0);
    expectNoPassword(up.stdout, up.stderr);

    const status = await runPrismaCli(app, ["migrate", "status"], env);
    expect(status.exitCode, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain("Database schema is up to date!");
    expect(status.stdout).toContain("3 migrations found in prisma/migrations");

    // The rows are Prisma's: a v4 UUID, the SHA-256 hex of migration.sql's bytes, one step, finished, no logs.
    const rows = await readHistory(database);
    expect(rows.map((row) => row.migration_name)).toEqual(exampleMigrations());
    for (const row of rows) {
      expect(row.id).toMatch(UUID);
      expect(row.checksum).toBe(sha256(join(app.dir, "prisma", "migrations", row.migration_name, "migration.sql")));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }

    // Prisma's deploy has nothing left to do.
    const deploy = await runPrismaCli(app, ["migrate", "deploy"], env);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.stdout).toContain("No pending migrations to apply.");
  });

  it("prisma migrate deploy on a fresh database: migrate status reports nothing pending, and the tables are alike", async () => {
    const prismaDatabase = await freshDatabase();
    const ourDatabase = await freshDatabase();
    const app = project();

    const deploy = await runPrismaCli(app, ["migrate", "deploy"], urlEnv(prismaDatabase, PASSWORD));
    expect(deploy.exitCode, deploy.stderr).toBe(0);

    const status = await runCli(["status", "--json"], { cwd: app.dir, env: urlEnv(prismaDatabase, PASSWORD) });
    expect(status.exitCode, status.stderr).toBe(0);
    expectNoPassword(status.stdout, status.stderr);
    const report = JSON.parse(status.stdout) as { projects: Array<{ status: Array<{ id: string; state: string }>; problems: unknown[] }> };
    expect(report.projects[0]!.status.map((entry) => [entry.id, entry.state])).toEqual(exampleMigrations().map((id) => [id, "applied"]));
    expect(report.projects[0]!.problems).toEqual([]);

    const up = await runCli(["up"], { cwd: app.dir, env: urlEnv(prismaDatabase, PASSWORD) });
    expect(up.exitCode).toBe(0);
    expect(up.stdout + up.stderr).toContain("Nothing to apply");

    // The table migrate creates is the table Prisma creates, column for column, and the rows have the same shape.
    expect((await runCli(["up"], { cwd: app.dir, env: urlEnv(ourDatabase, PASSWORD) })).exitCode).toBe(0);
    const describeTable = (database: TestDatabase) =>
      database.query(
        `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default, ordinal_position
           FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      );
    expect(await describeTable(ourDatabase)).toEqual(await describeTable(prismaDatabase));
    const describeKeys = (database: TestDatabase) =>
      database.query(
        `SELECT conname, contype, pg_get_constraintdef(oid) AS definition FROM pg_constraint
          WHERE conrelid = '_prisma_migrations'::regclass ORDER BY conname`,
      );
    expect(await describeKeys(ourDatabase)).toEqual(await describeKeys(prismaDatabase));
    const shape = (rows: Awaited<ReturnType<typeof readHistory>>) =>
      rows.map((row) => ({
        name: row.migration_name,
        checksum: row.checksum,
        isFinished: row.finished_at !== null,
        isRolledBack: row.rolled_back_at !== null,
        logs: row.logs,
        steps: row.applied_steps_count,
        idLength: row.id.length,
      }));
    expect(shape(await readHistory(ourDatabase))).toEqual(shape(await readHistory(prismaDatabase)));
  });
});

describe("taking turns with prisma migrate deploy", { timeout: 120_000 }, () => {
  it("migrate down, then prisma migrate deploy applies the undone migration again, and migrate agrees", async () => {
    const database = await freshDatabase();
    const app = project();
    const env = urlEnv(database, PASSWORD);
    const [first, second, third] = exampleMigrations();
    expect((await runCli(["up", "--to", first!], { cwd: app.dir, env })).exitCode).toBe(0);
    // Prisma applies the rest after migrate's first.
    const deploy = await runPrismaCli(app, ["migrate", "deploy"], env);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.stdout).toContain(second!);
    expect(deploy.stdout).toContain(third!);

    const down = await runCli(["down"], { cwd: app.dir, env });
    expect(down.exitCode, down.stdout + down.stderr).toBe(0);
    expect((await readHistory(database)).map((row) => row.migration_name)).toEqual([first, second]);

    const redeploy = await runPrismaCli(app, ["migrate", "deploy"], env);
    expect(redeploy.exitCode, redeploy.stderr).toBe(0);
    expect(redeploy.stdout).toContain(third!);
    const status = await runCli(["status", "--json"], { cwd: app.dir, env });
    expect(status.exitCode, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as { projects: Array<{ status: Array<{ state: string }>; problems: unknown[] }> };
    expect(report.projects[0]!.status.map((entry) => entry.state)).toEqual(["applied", "applied", "applied"]);
    expect(report.projects[0]!.problems).toEqual([]);
  });
});

describe("a failed migration", { timeout: 120_000 }, () => {
  async function failOnce(): Promise<{ database: TestDatabase; app: TestProject; env: Record<string, string> }> {
    const database = await freshDatabase();
    const app = project();
    app.write(`prisma/migrations/${FAILING_ID}/migration.sql`, FAILING_SQL);
    const env = urlEnv(database, PASSWORD);
    const up = await runCli(["up"], { cwd: app.dir, env });
    expect(up.exitCode).toBe(1);
    expectNoPassword(up.stdout, up.stderr);
    return { database, app, env };
  }

  it("leaves a row Prisma recognises as failed, and migrate up refuses with Prisma's explanation", async () => {
    const { database, app, env } = await failOnce();

    const rows = await readHistory(database);
    const failed = rows.filter((row) => row.migration_name === FAILING_ID);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.finished_at).toBeNull();
    expect(failed[0]!.rolled_back_at).toBeNull();
    expect(failed[0]!.applied_steps_count).toBe(0);
    expect(failed[0]!.logs).toContain("division by zero");
    expect(failed[0]!.checksum).toBe(sha256(join(app.dir, "prisma", "migrations", FAILING_ID, "migration.sql")));
    // The core ran it in one transaction: nothing of it stayed.
    expect(await database.query(`SELECT to_regclass('"Audit"') AS found`)).toEqual([{ found: null }]);

    const status = await runPrismaCli(app, ["migrate", "status"], env);
    expect(status.exitCode).toBe(1);
    expect(status.stdout + status.stderr).toContain("Following migration have failed:");
    expect(status.stdout + status.stderr).toContain(FAILING_ID);

    const deploy = await runPrismaCli(app, ["migrate", "deploy"], env);
    expect(deploy.exitCode).toBe(1);
    expect(deploy.stdout + deploy.stderr).toContain("P3009");

    const again = await runCli(["up"], { cwd: app.dir, env });
    expect(again.exitCode).toBe(2);
    const output = again.stdout + again.stderr;
    expect(output).toContain(`Migration "${FAILING_ID}" is recorded as failed`);
    expect(output).toContain("P3009");
    expect(output).toContain(`migrate resolve --rolled-back ${FAILING_ID}`);
    expect(output).toContain(`migrate resolve --applied ${FAILING_ID}`);
    expectNoPassword(output);
  });

  it("resolve --rolled-back marks the row as Prisma does, and a fixed migration then applies", async () => {
    const { database, app, env } = await failOnce();

    const resolve = await runCli(["resolve", "--rolled-back", FAILING_ID], { cwd: app.dir, env });
    expect(resolve.exitCode, resolve.stdout + resolve.stderr).toBe(0);
    const marked = (await readHistory(database)).filter((row) => row.migration_name === FAILING_ID);
    expect(marked).toHaveLength(1);
    expect(marked[0]!.rolled_back_at).toBeInstanceOf(Date);
    expect(marked[0]!.finished_at).toBeNull();

    const status = await runCli(["status", "--json"], { cwd: app.dir, env });
    expect(status.exitCode, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as { projects: Array<{ status: Array<{ id: string; state: string }> }> };
    expect(report.projects[0]!.status.find((entry) => entry.id === FAILING_ID)?.state).toBe("pending");

    // Prisma's deploy no longer refuses (no P3009): it would run the migration again, as migrate does.
    writeFileSync(join(app.dir, "prisma", "migrations", FAILING_ID, "migration.sql"), 'CREATE TABLE "Audit" ("id" SERIAL PRIMARY KEY);\n');
    const up = await runCli(["up"], { cwd: app.dir, env });
    expect(up.exitCode, up.stdout + up.stderr).toBe(0);
    const prismaStatus = await runPrismaCli(app, ["migrate", "status"], env);
    expect(prismaStatus.exitCode, prismaStatus.stdout).toBe(0);
    expect(prismaStatus.stdout).toContain("Database schema is up to date!");
    const deploy = await runPrismaCli(app, ["migrate", "deploy"], env);
    expect(deploy.exitCode).toBe(0);
    expect(deploy.stdout).toContain("No pending migrations to apply.");
  });

  it("resolve --applied writes the rows prisma migrate resolve --applied writes", async () => {
    const { database, app, env } = await failOnce();
    await database.query('CREATE TABLE "Audit" ("id" SERIAL PRIMARY KEY)');
    const resolve = await runCli(["resolve", "--applied", FAILING_ID], { cwd: app.dir, env });
    expect(resolve.exitCode, resolve.stdout + resolve.stderr).toBe(0);

    // The same story told to Prisma alone: its deploy fails, its resolve --applied marks it.
    const prismaDatabase = await freshDatabase();
    const prismaEnv = urlEnv(prismaDatabase, PASSWORD);
    expect((await runPrismaCli(app, ["migrate", "deploy"], prismaEnv)).exitCode).toBe(1);
    const prismaResolve = await runPrismaCli(app, ["migrate", "resolve", "--applied", FAILING_ID], prismaEnv);
    expect(prismaResolve.exitCode, prismaResolve.stdout + prismaResolve.stderr).toBe(0);

    const shape = (rows: Awaited<ReturnType<typeof readHistory>>) =>
      rows
        .filter((row) => row.migration_name === FAILING_ID)
        .map((row) => ({
          isFinished: row.finished_at !== null,
          isRolledBack: row.rolled_back_at !== null,
          logs: row.logs === null ? "none" : row.logs === "" ? "empty" : "text",
          steps: row.applied_steps_count,
          checksum: row.checksum,
        }));
    const ours = shape(await readHistory(database));
    expect(ours).toEqual(shape(await readHistory(prismaDatabase)));
    expect(ours).toEqual([
      expect.objectContaining({ isFinished: false, isRolledBack: true, logs: "text" }),
      expect.objectContaining({ isFinished: true, isRolledBack: false, logs: "empty", steps: 0 }),
    ]);

    const status = await runPrismaCli(app, ["migrate", "status"], env);
    expect(status.exitCode, status.stdout).toBe(0);
    expect(status.stdout).toContain("Database schema is up to date!");
    const up = await runCli(["up"], { cwd: app.dir, env });
    expect(up.exitCode).toBe(0);
    expect(up.stdout + up.stderr).toContain("Nothing to apply");
  });

  it("resolve --rolled-back refuses a migration that is not failed, as Prisma does (P3012)", async () => {
    const database = await freshDatabase();
    const app = project();
    const env = urlEnv(database, PASSWORD);
    expect((await runCli(["up"], { cwd: app.dir, env })).exitCode).toBe(0);
    const first = exampleMigrations()[0]!;
    const resolve = await runCli(["resolve", "--rolled-back", first], { cwd: app.dir, env });
    expect(resolve.exitCode).toBe(2);
    expect(resolve.stdout + resolve.stderr).toContain("P3012");
    expect((await readHistory(database)).every((row) => row.rolled_back_at === null)).toBe(true);
  });
});

describe("integrity", { timeout: 120_000 }, () => {
  it("catches an applied migration whose file changed, and refuses up", async () => {
    const database = await freshDatabase();
    const app = project();
    const env = urlEnv(database, PASSWORD);
    expect((await runCli(["up"], { cwd: app.dir, env })).exitCode).toBe(0);
    const first = exampleMigrations()[0]!;
    const file = join(app.dir, "prisma", "migrations", first, "migration.sql");
    writeFileSync(file, `${readFileSync(file, "utf8")}\nCREATE INDEX "User_name_idx" ON "User"("name");\n`);
    app.write(`prisma/migrations/20301231000000_later/migration.sql`, 'CREATE TABLE "Later" ("id" INTEGER);\n');

    const status = await runCli(["status", "--json"], { cwd: app.dir, env });
    expect(status.exitCode, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as { projects: Array<{ problems: Array<{ kind: string; id: string }> }> };
    expect(report.projects[0]!.problems).toEqual([expect.objectContaining({ kind: "changed", id: first })]);

    const up = await runCli(["up"], { cwd: app.dir, env });
    expect(up.exitCode).toBe(2);
    expect(up.stdout + up.stderr).toContain(`Migration "${first}" was changed after it was applied`);
    expect(await database.query(`SELECT to_regclass('"Later"') AS found`)).toEqual([{ found: null }]);
  });

  it("refuses migrations written for another provider", async () => {
    const database = await freshDatabase();
    const app = project();
    app.write("prisma/migrations/migration_lock.toml", 'provider = "mysql"\n');
    const up = await runCli(["up"], { cwd: app.dir, env: urlEnv(database, PASSWORD) });
    expect(up.exitCode).toBe(2);
    expect(up.stdout + up.stderr).toContain('written for "mysql", not "postgresql"');
    expect(await database.query(`SELECT to_regclass('_prisma_migrations') AS found`)).toEqual([{ found: null }]);
  });
});

describe("a migration outside a transaction, killed in the middle", { timeout: 180_000 }, () => {
  it("leaves the started row Prisma writes, so prisma migrate deploy stops on it too (P3009)", async () => {
    const database = await freshDatabase();
    const app = project();
    const env = urlEnv(database, PASSWORD);
    const id = "20301231000000_concurrent_index";
    app.write(
      `prisma/migrations/${id}/migration.sql`,
      'CREATE INDEX CONCURRENTLY "User_name_idx" ON "User" ("name");\nSELECT pg_sleep(30);\nCREATE INDEX CONCURRENTLY "User_createdAt_idx" ON "User" ("createdAt");\n',
    );
    const running = startCli(["up", "--allow-unsafe"], { cwd: app.dir, env });
    await waitFor(async () => (await database.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'"))[0]?.n === "1", 60_000, "the sleep");
    running.child.kill("SIGKILL");
    await running.result;

    const rows = (await readHistory(database)).filter((row) => row.migration_name === id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    const deploy = await runPrismaCli(app, ["migrate", "deploy"], env);
    expect(deploy.exitCode).not.toBe(0);
    expect(deploy.stdout + deploy.stderr).toContain("P3009");
    const refused = await runCli(["up", "--allow-unsafe"], { cwd: app.dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`migrate resolve --rolled-back ${id}`);

    // Undone by hand and resolved: both tools then apply it, once.
    await database.query('DROP INDEX IF EXISTS "User_name_idx"');
    expect((await runCli(["resolve", "--rolled-back", id], { cwd: app.dir, env })).exitCode).toBe(0);
    app.write(`prisma/migrations/${id}/migration.sql`, 'CREATE INDEX CONCURRENTLY "User_name_idx" ON "User" ("name");\nCREATE INDEX CONCURRENTLY "User_createdAt_idx" ON "User" ("createdAt");\n');
    const up = await runCli(["up", "--allow-unsafe"], { cwd: app.dir, env });
    expect(up.exitCode, up.stderr + up.stdout).toBe(0);
    const status = await runPrismaCli(app, ["migrate", "status"], env);
    expect(status.stdout).toContain("Database schema is up to date!");
    const finished = (await readHistory(database)).filter((row) => row.migration_name === id && row.finished_at !== null && row.rolled_back_at === null);
    expect(finished).toHaveLength(1);
  });
});
