import { createHash, randomUUID } from "node:crypto";
import { cpSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DoctorProjectReport } from "@polymigrate/core";
import { createTestDatabase, createTestProject, openSession, runCli, type TestDatabase, type TestProject } from "@polymigrate/testing";

const example = (name: string) => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

function doctorProject(stdout: string): DoctorProjectReport {
  return JSON.parse(stdout).projects[0] as DoctorProjectReport;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("migrate doctor: a migration blocked by a session holding a lock", () => {
  let locker: pg.Client;
  let lockerPid: number;
  beforeEach(async () => {
    project = createTestProject();
    cpSync(`${example("sql-app")}/migrations`, `${project.dir}/migrations`, { recursive: true });
    const applied = await runCli(["up", "--to", "0002_create_books"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(applied.exitCode, applied.stderr).toBe(0);
    locker = await openSession(database.url, "reporting-job");
    // The test ends this session with --terminate: its client must not treat that as an uncaught error.
    locker.on("error", () => {});
    lockerPid = await openSessionPid(locker);
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE books IN ACCESS EXCLUSIVE MODE");
  });
  afterEach(async () => {
    await locker.end().catch(() => {});
  });

  it("names the blocking session and the blocked migration with the fix; --terminate needs --yes and then ends it", async () => {
    const up = runCli(["up", "--lock-timeout", "60s", "--retries", "0"], { cwd: project.dir, env: { DIRECT_URL: database.url }, timeoutMs: 90_000 });
    await waitFor(async () => {
      const rows = await database.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0");
      return rows.length > 0 ? true : undefined;
    });

    const result = await runCli(["doctor", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode, result.stderr).toBe(1);
    const report = doctorProject(result.stdout);
    const blocked = report.waiting.find((entry) => entry.isMigration);
    expect(blocked, result.stdout).toMatchObject({ migrationId: "0003_index_books_title", blockedBy: [lockerPid] });
    expect(blocked!.query).toContain("CREATE INDEX CONCURRENTLY");
    expect(report.blocking).toEqual([
      expect.objectContaining({ pid: lockerPid, applicationName: "reporting-job", state: "idle in transaction", query: "LOCK TABLE books IN ACCESS EXCLUSIVE MODE" }),
    ]);
    const check = report.checks.find((entry) => entry.check === "blocked sessions" && entry.result === "problem");
    expect(check?.message).toContain(`the migration "0003_index_books_title"`);
    expect(check?.message).toContain(`waits for a lock held by pid ${lockerPid}`);
    expect(check?.fix).toContain(`migrate doctor --terminate ${lockerPid}`);
    expect(check?.evidence?.join("\n")).toContain(`blocking: pid ${lockerPid} ("reporting-job", idle in transaction`);

    const human = await runCli(["doctor"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(human.stdout).toContain(`fix: pid ${lockerPid} holds its lock in an open transaction and does nothing`);

    // Not a blocker: refused, whatever the confirmation.
    const bystander = await openSession(database.url, "bystander");
    try {
      const bystanderPid = await openSessionPid(bystander);
      const refused = await runCli(["doctor", "--terminate", String(bystanderPid), "--yes"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toContain(`pid ${bystanderPid} neither blocks a migration nor holds the migration lock`);
    } finally {
      await bystander.end();
    }
    // No terminal and no --yes: refused before anything.
    const unconfirmed = await runCli(["doctor", "--terminate", String(lockerPid)], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(unconfirmed.exitCode).toBe(2);
    expect(unconfirmed.stderr).toContain("needs a confirmation");
    expect(await database.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [lockerPid])).toHaveLength(1);

    const terminated = await runCli(["doctor", "--terminate", String(lockerPid), "--yes", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(terminated.exitCode, terminated.stderr).toBe(0);
    expect(JSON.parse(terminated.stdout).terminated).toMatchObject({ pid: lockerPid, terminated: true, reason: "it blocks a migration waiting for a lock" });
    const finished = await up;
    expect(finished.exitCode, finished.stderr).toBe(0);
    expect(await database.query("SELECT 1 FROM pg_indexes WHERE indexname = 'books_title_idx'")).toHaveLength(1);
  }, 90_000);
});

async function openSessionPid(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
}

// A copy of the Prisma example whose node_modules are the example's own.
function createPrismaCopy(): TestProject {
  const copy = createTestProject();
  for (const entry of ["prisma", "prisma.config.ts", "package.json"]) cpSync(join(example("prisma-app"), entry), join(copy.dir, entry), { recursive: true });
  symlinkSync(join(example("prisma-app"), "node_modules"), join(copy.dir, "node_modules"));
  return copy;
}

describe("migrate doctor: a Prisma migration recorded as failed", () => {
  beforeEach(() => {
    project = createPrismaCopy();
  });

  it("proposes --rolled-back when none of its statements landed", async () => {
    const id = "20261124230000_broken";
    mkdirSync(join(project.dir, "prisma", "migrations", id));
    project.write(`prisma/migrations/${id}/migration.sql`, `ALTER TABLE "Nowhere" ADD COLUMN "x" INTEGER;\n\nCREATE TABLE "Tag" ("id" SERIAL NOT NULL, CONSTRAINT "Tag_pkey" PRIMARY KEY ("id"));\n`);
    const up = await runCli(["up"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(up.exitCode).toBe(1);
    expect(await database.query("SELECT 1 FROM _prisma_migrations WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL", [id])).toHaveLength(1);

    const result = await runCli(["doctor", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode).toBe(1);
    const report = doctorProject(result.stdout);
    expect(report.failed).toEqual([expect.objectContaining({ id, resolution: "rolled-back" })]);
    expect(report.failed[0]!.landed).toMatchObject({ verdict: "none" });
    const check = report.checks.find((entry) => entry.check === "failed migration");
    expect(check).toMatchObject({ result: "problem", fix: `migrate resolve --rolled-back ${id}` });
    expect(check?.evidence).toContain(`line 3: creates table "Tag": not in the schema`);

    // The fix works: resolve it, then doctor has no failed migration.
    project.write(`prisma/migrations/${id}/migration.sql`, `CREATE TABLE "Tag" ("id" SERIAL NOT NULL, CONSTRAINT "Tag_pkey" PRIMARY KEY ("id"));\n`);
    const resolved = await runCli(["resolve", "--rolled-back", id], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(resolved.exitCode, resolved.stderr).toBe(0);
    const after = doctorProject((await runCli(["doctor", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } })).stdout);
    expect(after.failed).toEqual([]);
  }, 90_000);

  it("proposes --applied when all its statements landed (as Prisma's WebAssembly deploy leaves it)", async () => {
    const applied = await runCli(["up"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(applied.exitCode, applied.stderr).toBe(0);
    const id = "20261124230100_add_tags";
    const sql = `-- CreateTable\nCREATE TABLE "Tag" (\n    "id" SERIAL NOT NULL,\n    "name" TEXT NOT NULL,\n    CONSTRAINT "Tag_pkey" PRIMARY KEY ("id")\n);\n\n-- CreateIndex\nCREATE UNIQUE INDEX "Tag_name_key" ON "Tag"("name");\n\n-- AlterTable\nALTER TABLE "User" ADD COLUMN "nickname" TEXT;\n`;
    mkdirSync(join(project.dir, "prisma", "migrations", id));
    project.write(`prisma/migrations/${id}/migration.sql`, sql);
    await database.query(sql);
    await database.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count) VALUES ($1, $2, $3, 'statement 3 failed: connection lost', now(), 0)`,
      [randomUUID(), createHash("sha256").update(sql).digest("hex"), id],
    );

    const result = await runCli(["doctor", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode).toBe(1);
    const report = doctorProject(result.stdout);
    expect(report.failed).toEqual([expect.objectContaining({ id, resolution: "applied" })]);
    const check = report.checks.find((entry) => entry.check === "failed migration");
    expect(check).toMatchObject({ result: "problem", fix: `migrate resolve --applied ${id}` });
    expect(check?.evidence).toEqual([
      `line 2: creates table "Tag": landed`,
      `line 9: creates index "Tag_name_key": landed`,
      `line 12: adds column "nickname" to "User": landed`,
    ]);

    // Partly landed: says exactly which.
    await database.query(`ALTER TABLE "User" DROP COLUMN "nickname"`);
    const partial = doctorProject((await runCli(["doctor", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } })).stdout);
    expect(partial.failed[0]).toMatchObject({ id, resolution: "manual", landed: { verdict: "partial" } });
    const partialCheck = partial.checks.find((entry) => entry.check === "failed migration");
    expect(partialCheck?.message).toContain(`line 12 (adds column "nickname" to "User") did not`);
  }, 90_000);
});

describe("migrate doctor: a plain-SQL migration left half-applied", () => {
  it("finds the pending migration whose objects partly exist and says which", async () => {
    project = createTestProject();
    cpSync(`${example("sql-app")}/migrations`, `${project.dir}/migrations`, { recursive: true });
    const applied = await runCli(["up", "--to", "0002_create_books"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(applied.exitCode, applied.stderr).toBe(0);
    project.write("migrations/0004_reviews.sql", "-- polymigrate:no-transaction\nCREATE TABLE reviews (id int PRIMARY KEY);\nCREATE INDEX CONCURRENTLY reviews_id_idx ON reviews (id);\n");
    await database.query("CREATE TABLE reviews (id int PRIMARY KEY)");
    const result = await runCli(["doctor", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode).toBe(1);
    const report = doctorProject(result.stdout);
    expect(report.halfApplied).toEqual([expect.objectContaining({ id: "0004_reviews", resolution: "manual" })]);
    const check = report.checks.find((entry) => entry.check === "half-applied migration");
    expect(check?.message).toContain(`line 2 (creates table "reviews") landed`);
    expect(check?.message).toContain(`line 3 (creates index "reviews_id_idx") did not`);
  });
});
