import { spawn } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  cliEnvironment,
  collectOutput,
  createTestDatabase,
  createTestProject,
  migrateBin,
  runCli,
  startCli,
  waitFor,
  type TestDatabase,
  type TestProject,
} from "@polymigrate/testing";

// Exactly once, whatever dies: kill -9 in the middle of a migration outside a transaction, a killed run whose
// statement goes on, SIGINT and SIGTERM during a long run, and a closed stdout. Real server, the built CLI.

let database: TestDatabase;
let project: TestProject;

afterEach(async () => {
  project?.remove();
  await database?.drop();
});

const migrate = (args: string[], timeoutMs = 60_000) => runCli(args, { cwd: project.dir, env: { DIRECT_URL: database.url }, timeoutMs });

async function count(sql: string): Promise<number> {
  const rows = await database.query<{ n: string }>(sql);
  return Number(rows[0]?.n ?? 0);
}

describe("a migration outside a transaction, killed in the middle", () => {
  beforeEach(async () => {
    database = await createTestDatabase("pm_crash");
    project = createTestProject({
      "migrations/0001_books.sql": "CREATE TABLE books (id int PRIMARY KEY, title text, isbn text);\n",
      "migrations/0002_indexes.sql":
        "CREATE INDEX CONCURRENTLY books_title_idx ON books (title);\nSELECT pg_sleep(30);\nCREATE INDEX CONCURRENTLY books_isbn_idx ON books (isbn);\n",
      "migrations/0003_more.sql": "CREATE TABLE more (id int);\n",
    });
  });

  it("is recorded as started, shown as unfinished, refused by up with the fix, and cleared by resolve", async () => {
    const running = startCli(["up", "--allow-unsafe"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    // Kill it once the first statement of 0002 has landed and the second runs.
    await waitFor(
      async () => (await count("SELECT count(*) AS n FROM polymigrate.unfinished_migrations WHERE statements_applied = 1").catch(() => 0)) === 1,
      30_000,
      "0002's first statement",
    );
    running.child.kill("SIGKILL");
    await running.result;
    // The server stops the killed client's statement soon (client_connection_check_interval), not after 30 s.
    await waitFor(async () => (await count("SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'")) === 0, 5000, "the server to stop the killed run's statement");

    const status = await migrate(["status", "--json"]);
    expect(status.exitCode, status.stderr).toBe(0);
    const entries = JSON.parse(status.stdout).projects[0].status;
    expect(entries.map((entry: { state: string }) => entry.state)).toEqual(["applied", "unfinished", "pending"]);
    expect(entries[1].unfinished).toMatchObject({ direction: "up", statementsApplied: 1, statementsTotal: 3 });
    const human = await migrate(["status"]);
    expect(human.stdout).toMatch(/unfinished/);
    expect(human.stdout).toMatch(/1 of 3 of its statements completed/);

    const refused = await migrate(["up", "--allow-unsafe"]);
    expect(refused.exitCode, refused.stderr + refused.stdout).toBe(2);
    expect(refused.stderr).toContain('"0002_indexes" was started outside a transaction');
    expect(refused.stderr).toContain("migrate resolve --applied 0002_indexes");
    expect(refused.stderr).toContain("migrate resolve --rolled-back 0002_indexes");
    expect(await count("SELECT count(*) AS n FROM pg_class WHERE relname = 'more'")).toBe(0);

    // doctor says how far it got and which of its statements landed.
    const doctor = await migrate(["doctor", "--json"]);
    const checks = JSON.parse(doctor.stdout).projects[0].checks as Array<{ check: string; message: string; evidence?: string[] }>;
    const unfinished = checks.find((check) => check.check === "unfinished migration");
    expect(unfinished?.message).toContain('"0002_indexes" was started outside a transaction');
    expect(unfinished?.evidence).toEqual(expect.arrayContaining(["the run recorded 1 completed statement(s) before it stopped"]));
    expect(unfinished?.evidence?.join("\n")).toMatch(/line 1: .*landed/);
    expect(unfinished?.evidence?.join("\n")).toMatch(/line 3: .*not in the schema/);

    // Undo what landed by hand, say so, and the next run applies it again, once.
    await database.query("DROP INDEX books_title_idx");
    const resolved = await migrate(["resolve", "--rolled-back", "0002_indexes"]);
    expect(resolved.exitCode, resolved.stderr + resolved.stdout).toBe(0);
    const again = await migrate(["up", "--allow-unsafe"], 90_000);
    // (the second run sleeps 30 s in 0002 again: it is the same file)
    expect(again.exitCode, again.stderr + again.stdout).toBe(0);
    expect(await count("SELECT count(*) AS n FROM pg_indexes WHERE indexname IN ('books_title_idx', 'books_isbn_idx')")).toBe(2);
    expect(await count("SELECT count(*) AS n FROM polymigrate.sql_migrations")).toBe(3);
    expect(await count("SELECT count(*) AS n FROM polymigrate.unfinished_migrations")).toBe(0);
  }, 150_000);
});

describe("a killed run whose statement goes on", () => {
  beforeEach(async () => {
    database = await createTestDatabase("pm_crash");
    project = createTestProject({
      // The sleep's length comes from a table the test sets: 20 s for the run it kills, 0 for the next one.
      "migrations/0001_slow.sql": "CREATE TABLE slow (n int);\nSELECT pg_sleep((SELECT seconds FROM sleep_for));\nINSERT INTO slow VALUES (1);\n",
      "migrations/0002_after.sql": "INSERT INTO slow VALUES (2);\n",
    });
  });

  it("keeps the lock until the server has stopped it, so the next run applies each migration once", async () => {
    await database.query("CREATE TABLE sleep_for (seconds int); INSERT INTO sleep_for VALUES (20)");
    const running = startCli(["up"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    await waitFor(async () => (await count("SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep((SELECT seconds%' AND state = 'active'")) === 1, 20_000, "the slow statement");
    running.child.kill("SIGKILL");
    await running.result;
    await database.query("UPDATE sleep_for SET seconds = 0");
    const started = Date.now();
    const again = await migrate(["up", "--json"]);
    expect(again.exitCode, again.stderr + again.stdout).toBe(0);
    // It did not wait for the 20 s statement: the server stopped it about a second after its client vanished.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await database.query("SELECT n FROM slow ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await count("SELECT count(*) AS n FROM polymigrate.sql_migrations")).toBe(2);
  }, 90_000);
});

describe("a long run stopped by a signal or a closed pipe", () => {
  const TOTAL = 300;
  beforeEach(async () => {
    database = await createTestDatabase("pm_crash");
    const files: Record<string, string> = { "migrations/0000_log.sql": "CREATE TABLE applied_log (id text PRIMARY KEY);\n" };
    for (let index = 1; index < TOTAL; index += 1) {
      const id = String(index).padStart(4, "0");
      files[`migrations/${id}_step.sql`] = `CREATE TABLE t${id} (id int);\nINSERT INTO applied_log VALUES ('${id}');\nSELECT pg_sleep(0.01);\n`;
    }
    project = createTestProject(files);
  });

  async function applied(): Promise<number> {
    return count("SELECT count(*) AS n FROM polymigrate.sql_migrations").catch(() => 0);
  }

  for (const [signal, exitCode] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`stops at a safe point on ${signal}, exits ${exitCode}, and the next status names the interrupted run with no drift`, async () => {
      const running = startCli(["up"], { cwd: project.dir, env: { DIRECT_URL: database.url }, timeoutMs: 120_000 });
      await waitFor(async () => (await applied()) >= 20, 60_000, "20 migrations");
      running.child.kill(signal);
      const result = await running.result;
      expect(result.exitCode, result.stderr).toBe(exitCode);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      const history = await applied();
      expect(history).toBeGreaterThanOrEqual(20);
      expect(history).toBeLessThan(TOTAL);
      // The history is exactly what was applied: one log row and one table per recorded migration.
      expect(await count("SELECT count(*) AS n FROM applied_log")).toBe(history - 1);
      expect(await count("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^t[0-9]{4}$'")).toBe(history - 1);

      const status = await migrate(["status", "--json"]);
      expect(status.exitCode, status.stderr).toBe(0);
      const report = JSON.parse(status.stdout).projects[0];
      expect(report.drift).toBeUndefined();
      expect(report.interruptedRun).toMatchObject({ command: "up", state: "interrupted" });
      expect(report.interruptedRun.applied).toHaveLength(history);
      const human = await migrate(["status"]);
      expect(human.stderr + human.stdout).toMatch(/was interrupted/);
      expect(human.stderr + human.stdout).not.toMatch(/changed outside migrate/);

      const rest = await migrate(["up"], 120_000);
      expect(rest.exitCode, rest.stderr).toBe(0);
      expect(await applied()).toBe(TOTAL);
      expect(await count("SELECT count(*) AS n FROM applied_log")).toBe(TOTAL - 1);
    }, 240_000);
  }

  it("goes on when its stdout is closed (| head -1): no stack trace, every migration applied and recorded", async () => {
    const child = spawn("bash", ["-c", `"${process.execPath}" "${migrateBin()}" up | head -1; echo "migrate exit: \${PIPESTATUS[0]}" >&2`], {
      cwd: project.dir,
      env: cliEnvironment({ DIRECT_URL: database.url }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const result = await collectOutput(child, 120_000);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(result.stderr).toContain("migrate exit: 0");
    expect(await applied()).toBe(TOTAL);
    const status = await migrate(["status", "--json"]);
    const report = JSON.parse(status.stdout).projects[0];
    expect(report.drift).toBeUndefined();
    expect(report.interruptedRun).toBeUndefined();
  }, 180_000);
});
