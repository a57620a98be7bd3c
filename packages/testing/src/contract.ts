import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, listTables, type TestDatabase } from "./database.js";
import { runCli, startCli, waitFor, type CliResult } from "./cli.js";
import type { TestProject } from "./project.js";

/** One migration of a contract fixture, in plain SQL: each stack writes it in its own layout. */
export interface ContractMigration {
  /** A short name in snake_case; the stack adds its own ordering prefix. */
  name: string;
  up: string;
  down: string;
}

/** How a stack writes the contract's migrations in its own layout. */
export interface ContractFixture {
  stack: string;
  /** A project (with its configuration, if the stack needs one) holding `migrations` in order. */
  createProject(migrations: ContractMigration[]): TestProject | Promise<TestProject>;
  /** Adds one more migration after the existing ones (for `create`-free fixtures). */
  addMigration(project: TestProject, migration: ContractMigration, position: number): void | Promise<void>;
  /** The file of the migration at `position` (0-based), relative to the project. */
  migrationFile(project: TestProject, position: number): string;
  /** Deletes the migration at `position` from disk, as a careless merge would. */
  removeMigration(project: TestProject, position: number): void | Promise<void>;
  /**
   * Adds a migration that the stack orders before the existing ones (an older timestamp or number). Absent for stacks
   * where that cannot happen (Alembic's revision graph has no order but its links).
   */
  addOlderMigration?(project: TestProject, migration: ContractMigration): void | Promise<void>;
  /** Whether the stack records a checksum, so that a changed applied file can be detected. */
  hasChecksums: boolean;
  /** Whether a failed migration stays recorded as failed and blocks `up` until resolved (Prisma's P3009). */
  hasFailedState?: boolean;
  /** Extra environment for the CLI (e.g. a Python path). */
  env?: Record<string, string>;
  /** A per-test timeout for stacks whose tools start slowly. */
  timeoutMs?: number;
}

const MIGRATIONS: ContractMigration[] = [
  { name: "create_accounts", up: "CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL);", down: "DROP TABLE accounts;" },
  { name: "create_orders", up: "CREATE TABLE orders (id int PRIMARY KEY, account_id int REFERENCES accounts (id));", down: "DROP TABLE orders;" },
  { name: "index_orders", up: "CREATE INDEX orders_account_idx ON orders (account_id);", down: "DROP INDEX orders_account_idx;" },
];

/**
 * The contract every adapter passes, against the real server and the stack's real files: up, status and down agree
 * with the catalog; N concurrent runs apply each migration exactly once; a failing migration stops the run and keeps
 * the earlier ones; a changed applied file, one missing on disk and one ordered before the last applied are refused;
 * `CREATE INDEX CONCURRENTLY` applies, and the INVALID index a failed build leaves is dropped by the next run.
 */
export function describeAdapterContract(fixture: ContractFixture): void {
  describe(`the ${fixture.stack} adapter's contract`, () => {
    let database: TestDatabase;
    let project: TestProject;
    const timeout = fixture.timeoutMs ?? 60_000;

    beforeEach(async () => {
      database = await createTestDatabase(`pm_contract_${fixture.stack}`);
      project = await fixture.createProject(MIGRATIONS);
    });
    afterEach(async () => {
      project.remove();
      await database.drop();
    });

    const migrate = (args: string[]): Promise<CliResult> =>
      runCli(args, { cwd: project.dir, env: { DIRECT_URL: database.urlWithPassword("contract-pw"), ...fixture.env }, timeoutMs: timeout });
    const states = async () => {
      const result = await migrate(["status", "--json"]);
      expect(result.exitCode, result.stderr).toBe(0);
      return (JSON.parse(result.stdout).projects[0].status as Array<{ state: string }>).map((entry) => entry.state);
    };

    it("applies, reports and undoes migrations, in agreement with the catalog", async () => {
      expect(await states()).toEqual(["pending", "pending", "pending"]);
      const up = await migrate(["up"]);
      expect(up.exitCode, up.stderr).toBe(0);
      expect(await listTables(database)).toEqual(expect.arrayContaining(["accounts", "orders"]));
      expect(await states()).toEqual(["applied", "applied", "applied"]);
      const down = await migrate(["down", "--steps", "2"]);
      expect(down.exitCode, down.stderr).toBe(0);
      expect(await listTables(database)).not.toContain("orders");
      expect(await states()).toEqual(["applied", "pending", "pending"]);
      for (const result of [up, down]) expect(result.stdout + result.stderr).not.toContain("contract-pw");
    }, timeout * 4);

    it("applies each migration exactly once when five runs start together", async () => {
      const runs = await Promise.all(Array.from({ length: 5 }, () => migrate(["up", "--json"])));
      const applied: string[] = [];
      for (const run of runs) {
        expect(run.exitCode, run.stderr).toBe(0);
        const report = JSON.parse(run.stdout).projects[0];
        applied.push(...report.migrations.filter((m: { outcome: string }) => m.outcome === "applied").map((m: { id: string }) => m.id));
      }
      expect(applied).toHaveLength(3);
      expect(new Set(applied).size).toBe(3);
      expect(await states()).toEqual(["applied", "applied", "applied"]);
    }, timeout * 4);

    it("stops with the lock lost when its session is terminated mid-run, and applies nothing twice", async () => {
      await fixture.addMigration(
        project,
        { name: "slow", up: "CREATE TABLE slow_log (n int); SELECT pg_sleep(3); INSERT INTO slow_log VALUES (1);", down: "DROP TABLE slow_log;" },
        3,
      );
      await fixture.addMigration(project, { name: "after_slow", up: "CREATE TABLE after_slow (n int);", down: "DROP TABLE after_slow;" }, 4);
      const running = startCli(["up", "--json"], { cwd: project.dir, env: { DIRECT_URL: database.urlWithPassword("contract-pw"), ...fixture.env }, timeoutMs: timeout });
      // The lock's holder, once the slow migration is running (on the holder's session, or a native runner's child).
      const holder = await waitFor(async () => {
        const rows = await database.query<{ pid: number }>(
          `SELECT l.pid FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.classid = ${0x706d6967} AND l.granted
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND EXISTS (SELECT 1 FROM pg_stat_activity a
                           WHERE a.datname = current_database() AND a.query LIKE '%pg_sleep(3)%' AND a.state = 'active' AND a.pid <> pg_backend_pid())`,
        );
        return rows[0]?.pid;
      }, timeout, "the slow migration to run");
      await database.query("SELECT pg_terminate_backend($1)", [holder]);
      const lost = await running.result;
      expect(lost.exitCode, lost.stderr + lost.stdout).toBe(1);
      const report = JSON.parse(lost.stdout).projects[0];
      expect(report.error.code).toBe("LOCK_LOST");
      expect(report.error.message).toMatch(/lost the migration lock/);
      expect(report.migrations.map((m: { outcome: string }) => m.outcome)).toEqual(["applied", "applied", "applied", "failed", "skipped"]);
      // Nothing of the slow migration committed, not even after its statement ended, and nothing after it ran.
      await new Promise((resolve) => setTimeout(resolve, 3500));
      expect(await listTables(database)).not.toContain("after_slow");
      expect(await listTables(database)).not.toContain("slow_log");
      const again = await migrate(["up"]);
      expect(again.exitCode, again.stderr + again.stdout).toBe(0);
      expect(await database.query("SELECT n FROM slow_log")).toEqual([{ n: 1 }]);
      expect(await states()).toEqual(["applied", "applied", "applied", "applied", "applied"]);
    }, timeout * 4);

    it("keeps its lock through an idle_session_timeout in the URL's options, and applies each migration once", async () => {
      await fixture.addMigration(project, { name: "slow", up: "CREATE TABLE slow_log (n int); SELECT pg_sleep(2.5); INSERT INTO slow_log VALUES (1);", down: "DROP TABLE slow_log;" }, 3);
      const url = new URL(database.urlWithPassword("contract-pw"));
      url.searchParams.set("options", "-c idle_session_timeout=1000");
      const result = await runCli(["up", "--json"], { cwd: project.dir, env: { DIRECT_URL: url.toString(), ...fixture.env }, timeoutMs: timeout });
      expect(result.exitCode, result.stderr + result.stdout).toBe(0);
      expect(JSON.parse(result.stdout).projects[0].migrations.map((m: { outcome: string }) => m.outcome)).toEqual(["applied", "applied", "applied", "applied"]);
      expect(await database.query("SELECT n FROM slow_log")).toEqual([{ n: 1 }]);
      expect(await states()).toEqual(["applied", "applied", "applied", "applied"]);
    }, timeout * 4);

    it("stops at a failing migration, keeps the earlier ones and says where it failed", async () => {
      await fixture.addMigration(project, { name: "broken", up: "ALTER TABLE nowhere ADD COLUMN x int;", down: "SELECT 1;" }, 3);
      const result = await migrate(["up", "--json"]);
      expect(result.exitCode).toBe(1);
      const report = JSON.parse(result.stdout).projects[0];
      expect(report.migrations.map((m: { outcome: string }) => m.outcome)).toEqual(["applied", "applied", "applied", "failed"]);
      const failed = report.migrations[3];
      expect(failed.error.message).toContain('relation "nowhere" does not exist');
      expect(failed.error.file).toContain(fixture.migrationFile(project, 3));
      expect(await listTables(database)).toEqual(expect.arrayContaining(["accounts", "orders"]));
    }, timeout * 4);

    it("refuses to go on when an applied migration's file changed", async () => {
      expect((await migrate(["up"])).exitCode).toBe(0);
      await fixture.addMigration(project, { name: "more", up: "CREATE TABLE more (id int);", down: "DROP TABLE more;" }, 3);
      if (fixture.hasChecksums) {
        const file = fixture.migrationFile(project, 1);
        project.write(file, "CREATE TABLE orders (id bigint PRIMARY KEY);\n");
        const changed = await migrate(["up"]);
        expect(changed.exitCode, changed.stderr + changed.stdout).toBe(2);
        expect(changed.stderr).toMatch(/was changed after it was applied/);
        expect(await listTables(database)).not.toContain("more");
      }
    }, timeout * 4);

    it("refuses to go on when an applied migration went missing on disk", async () => {
      expect((await migrate(["up"])).exitCode).toBe(0);
      await fixture.removeMigration(project, 2);
      const missing = await migrate(["up"]);
      expect(missing.exitCode, missing.stderr + missing.stdout).toBe(2);
      expect(missing.stderr).toMatch(/missing from|missing on disk/);
      const status = await migrate(["status", "--json"]);
      expect(JSON.parse(status.stdout).projects[0].problems.map((problem: { kind: string }) => problem.kind)).toContain("missing");
    }, timeout * 4);

    if (fixture.addOlderMigration) {
      const addOlder = fixture.addOlderMigration.bind(fixture);
      it("refuses a new migration ordered before the last applied one, until allowed", async () => {
        expect((await migrate(["up"])).exitCode).toBe(0);
        await addOlder(project, { name: "older", up: "CREATE TABLE older (id int);", down: "DROP TABLE older;" });
        const refused = await migrate(["up"]);
        expect(refused.exitCode, refused.stderr + refused.stdout).toBe(2);
        expect(refused.stderr).toMatch(/ordered before|would skip/);
        expect(await listTables(database)).not.toContain("older");
        const allowed = await migrate(["up", "--allow", "out-of-order"]);
        expect(allowed.exitCode, allowed.stderr).toBe(0);
        expect(await listTables(database)).toContain("older");
      }, timeout * 4);
    }

    it("applies CREATE INDEX CONCURRENTLY, and drops the INVALID index a failed build left before building it again", async () => {
      expect((await migrate(["up"])).exitCode).toBe(0);
      await database.query("INSERT INTO accounts VALUES (1, 'same@example.com'), (2, 'same@example.com')");
      await fixture.addMigration(
        project,
        {
          name: "unique_email",
          up: "CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);",
          down: "DROP INDEX CONCURRENTLY accounts_email_key;",
        },
        3,
      );
      const failed = await migrate(["up", "--allow-unsafe", "--json"]);
      expect(failed.exitCode, failed.stderr + failed.stdout).toBe(1);
      const invalid = "SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'accounts_email_key'";
      expect(await database.query(invalid)).toEqual([{ valid: false }]);
      await database.query("DELETE FROM accounts WHERE id = 2");
      if (fixture.hasFailedState) {
        // The stack keeps the failure on record and refuses to go on until someone says what happened.
        const id = JSON.parse(failed.stdout).projects[0].migrations.find((m: { outcome: string }) => m.outcome === "failed").id;
        expect((await migrate(["up", "--allow-unsafe"])).exitCode).toBe(2);
        expect((await migrate(["resolve", "--rolled-back", id])).exitCode).toBe(0);
      }
      const retried = await migrate(["up", "--allow-unsafe"]);
      expect(retried.exitCode, retried.stderr + retried.stdout).toBe(0);
      expect(retried.stdout).toContain('Dropped the INVALID index "public.accounts_email_key" on "accounts"');
      expect(await database.query(invalid)).toEqual([{ valid: true }]);
    }, timeout * 4);
  });
}
