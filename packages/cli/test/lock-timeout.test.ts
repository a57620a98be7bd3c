import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  createTestProject,
  listColumns,
  openSession,
  runCli,
  type TestDatabase,
  type TestProject,
} from "@polymigrate/testing";

let database: TestDatabase;
let project: TestProject;

beforeEach(async () => {
  database = await createTestDatabase();
  await database.query("CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users SELECT generate_series(1, 100);");
  project = createTestProject({ "migrations/0001_add_name.sql": "ALTER TABLE users ADD COLUMN name text;\n" });
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

describe("bounded lock waits", () => {
  it("gives up on lock_timeout, retries with backoff, and ends failed and rolled back", async () => {
    const holder = await openSession(database.url, "holds-access-exclusive");
    try {
      await holder.query("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE;");
      const result = await runCli(["up", "--lock-timeout", "200ms", "--retries", "2", "--json"], {
        cwd: project.dir,
        env: { DIRECT_URL: database.url },
      });
      expect(result.exitCode).toBe(1);
      const migration = JSON.parse(result.stdout).projects[0].migrations[0];
      expect(migration).toMatchObject({ id: "0001_add_name", outcome: "failed", attempts: 3 });
      expect(migration.error).toMatchObject({ sqlState: "55P03", line: 1 });
      const human = await runCli(["up", "--lock-timeout", "200ms", "--retries", "1"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
      expect(human.stdout).toContain("↻ 0001_add_name: canceling statement due to lock timeout; attempt 2 of 2");
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
    expect(await listColumns(database, "users")).toEqual(["id integer"]);
  });

  it("succeeds on a retry once the blocking transaction ends", async () => {
    const holder = await openSession(database.url, "holds-briefly");
    const watcher = await openSession(database.url, "watcher");
    await holder.query("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE;");
    const running = runCli(["up", "--lock-timeout", "300ms", "--retries", "5", "--json"], {
      cwd: project.dir,
      env: { DIRECT_URL: database.url },
    });
    // Release the table only once the migration's ALTER has waited and given up at least once.
    const waitingAlter = async () =>
      (
        await watcher.query(
          "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE users%' AND wait_event_type = 'Lock' AND datname = current_database()",
        )
      ).rowCount === 1;
    for (let polls = 0; polls < 300 && !(await waitingAlter()); polls++) await new Promise((resolve) => setTimeout(resolve, 20));
    for (let polls = 0; polls < 300 && (await waitingAlter()); polls++) await new Promise((resolve) => setTimeout(resolve, 20));
    await holder.query("ROLLBACK");
    await Promise.all([holder.end(), watcher.end()]);
    const result = await running;
    expect(result.exitCode, result.stderr).toBe(0);
    const migration = JSON.parse(result.stdout).projects[0].migrations[0];
    expect(migration.outcome).toBe("applied");
    expect(migration.attempts).toBeGreaterThan(1);
    expect(await listColumns(database, "users")).toEqual(["id integer", "name text"]);
  });

  it("does not let a waiting ALTER hold the application's reads for longer than about lock_timeout", async () => {
    // A long transaction that read the table (ACCESS SHARE) blocks the ALTER; reads queued behind the ALTER would wait
    // as long as it waits. With lock_timeout, the ALTER steps aside and the reads go through.
    const longReader = await openSession(database.url, "long-reader");
    const reader = await openSession(database.url, "application");
    await longReader.query("BEGIN; SELECT count(*) FROM users;");
    let longest = 0;
    let isRunning = true;
    const readLoop = (async () => {
      while (isRunning) {
        const started = Date.now();
        await reader.query("SELECT count(*) FROM users");
        longest = Math.max(longest, Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      const result = await runCli(["up", "--lock-timeout", "300ms", "--retries", "3"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
      expect(result.exitCode).toBe(1);
    } finally {
      isRunning = false;
      await readLoop;
      await longReader.query("ROLLBACK");
      await Promise.all([longReader.end(), reader.end()]);
    }
    // Four attempts of 300 ms each, spaced by backoff: without lock_timeout the reads would wait for the long reader.
    expect(longest).toBeLessThan(300 + 1000);
  });
});

describe("one meaning of a duration", () => {
  // What the migration's session really ran with, recorded by the migration itself.
  async function seenLockTimeout(files: Record<string, string>, args: string[] = []): Promise<string> {
    const target = await createTestDatabase();
    const seen = createTestProject({ "migrations/0001_seen.sql": "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS v;\n", ...files });
    try {
      const result = await runCli(["up", ...args], { cwd: seen.dir, env: { DIRECT_URL: target.url } });
      expect(result.exitCode, result.stderr).toBe(0);
      const [row] = await target.query<{ v: string }>("SELECT v FROM seen");
      return row!.v;
    } finally {
      seen.remove();
      await target.drop();
    }
  }
  const config = (settings: Record<string, unknown>) => JSON.stringify({ ...settings, projects: [{ name: "app", stack: "sql", dir: "migrations" }] });

  it('reads "lockTimeout": "5" in the configuration as --lock-timeout 5 and a "-- polymigrate:lock-timeout 5" comment: 5 s', async () => {
    expect(await seenLockTimeout({}, ["--lock-timeout", "5"])).toBe("5s");
    expect(await seenLockTimeout({ "migrate.config.json": config({ lockTimeout: "5" }) })).toBe("5s");
    expect(await seenLockTimeout({ "migrate.config.json": config({ lockTimeout: 5 }) })).toBe("5s");
    expect(await seenLockTimeout({ "migrations/0001_seen.sql": "-- polymigrate:lock-timeout 5\nCREATE TABLE seen AS SELECT current_setting('lock_timeout') AS v;\n" })).toBe("5s");
  });

  it("keeps a fraction of a second instead of rounding it to off", async () => {
    expect(await seenLockTimeout({ "migrate.config.json": config({ lockTimeout: 0.4 }) })).toBe("400ms");
  });

  it("refuses a duration that would be off by rounding, or ambiguous, before anything runs", async () => {
    for (const [lockTimeout, message] of [
      ["0.4ms", 'lockTimeout is "0.4ms", less than 1ms'],
      [5000, 'lockTimeout is 5000: a bare number is seconds, and one of 1000 or more must say its unit; write "5000s" if you mean seconds or "5000ms"'],
      [true, "lockTimeout is true; use a number with a unit"],
    ] as const) {
      project.write("migrate.config.json", config({ lockTimeout }));
      const result = await runCli(["up"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain("unexpected error");
    }
    const flag = await runCli(["up", "--lock-timeout", "0.4ms"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain('--lock-timeout is "0.4ms", less than 1ms');
    expect(await listColumns(database, "users")).toEqual(["id integer"]);
  });
});

describe("a safety comment the runner cannot read", () => {
  it('refuses "-- polymigrate:lock-timeout 5000" before anything runs, naming the file and line', async () => {
    project.write("migrations/0001_add_name.sql", "-- polymigrate:lock-timeout 5000\nALTER TABLE users ADD COLUMN name text;\n");
    const result = await runCli(["up"], { cwd: project.dir, env: { DIRECT_URL: database.url } });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stdout + result.stderr).toContain("unreadable-directive");
    expect(result.stdout + result.stderr).toContain('"-- polymigrate:lock-timeout 5000": the value is "5000": a bare number is seconds');
    expect(result.stdout + result.stderr).toContain("0001_add_name.sql:1");
    expect(await listColumns(database, "users")).toEqual(["id integer"]);
  });
});
