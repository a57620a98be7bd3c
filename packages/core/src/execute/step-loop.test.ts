import { describe, expect, it } from "vitest";
import type { DatabaseSession } from "../db/connect.js";
import type { Queryable } from "../db/queryable.js";
import type { HistoryStore, StackAdapter } from "../model/adapter.js";
import type { MigrateEvent } from "../model/events.js";
import type { HistoryEntry, Migration } from "../model/migration.js";
import type { MigrationLock } from "../lock/migration-lock.js";
import { isSessionLost, runSteps, type StepAttempt, type StepExecutor } from "./step-loop.js";

// The step loop's logic alone, on an in-memory history (umzug's reference storage is the model) and a database that
// only records what it is asked: the real server is in the integration tests.

function memoryHistory(): HistoryStore & { rows: string[] } {
  const rows: string[] = [];
  return {
    rows,
    location: { schema: "memory", table: "history" },
    exists: async () => true,
    ensure: async () => {},
    read: async (): Promise<HistoryEntry[]> => rows.map((id) => ({ id, status: "applied" })),
    recordApplied: async (_db, migration) => void rows.push(migration.id),
    recordRolledBack: async (_db, migration) => void rows.splice(rows.indexOf(migration.id), 1),
  };
}

function fakeDatabase(): Queryable & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    query: async (text: string) => {
      queries.push(text);
      return { rows: [], rowCount: 0 };
    },
  } as Queryable & { queries: string[] };
}

function setup(options: { isHeld?: () => boolean } = {}) {
  const history = memoryHistory();
  const client = fakeDatabase();
  const session = { client, serverVersionNum: 150000, pid: 42, isAlive: () => true, close: async () => {} } as unknown as DatabaseSession;
  const adapter = { stack: "sql", dir: "/nowhere", capabilities: { rollback: "down-files", execution: "sql", canCreate: false }, history, readMigrations: async () => [] } as unknown as StackAdapter;
  const lock: MigrationLock = { waitedMs: 0, hasWaited: false, holderPid: 42, isHeld: options.isHeld ?? (() => true), release: async () => {} };
  const events: MigrateEvent[] = [];
  const appended: string[] = [];
  return {
    history,
    client,
    session,
    adapter,
    lock,
    events,
    appended,
    options: {
      project: "app",
      emit: (event: MigrateEvent) => void events.push(event),
      runId: "0123456789ab",
      lock,
      safety: { lockTimeoutMs: 5000, statementTimeoutMs: 0, retries: 2, retryDelayMs: 1 },
      ledger: { open: async () => {}, append: async (_db: Queryable, migration: { id: string }) => void appended.push(migration.id) },
    },
  };
}

const migrations = (...ids: string[]): Array<{ migration: Migration; sql: string }> =>
  ids.map((id, order) => ({ migration: { id, name: id, order, checksum: id, file: `${id}.sql`, sql: "SELECT 1" }, sql: "SELECT 1" }));

// An executor whose attempts are scripted per migration: each call takes the next result.
function scripted(results: Record<string, Array<Partial<StepAttempt>>>): StepExecutor & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    writesOwnHistory: false,
    async attempt(step, hooks) {
      calls.push(step.migration.id);
      hooks.onStart(true);
      const next = results[step.migration.id]?.shift() ?? { isSuccess: true };
      const attempt: StepAttempt = { isSuccess: true, transactional: true, durationMs: 1, wasStarted: false, ...next };
      if (attempt.isSuccess) await hooks.finish(fakeDatabase(), 1, attempt.wasStarted);
      return attempt;
    },
  };
}

describe("the step loop", () => {
  it("runs every step in order, each with its bookkeeping, and announces each", async () => {
    const context = setup();
    const executor = scripted({});
    const result = await runSteps(context.adapter, context.session, migrations("a", "b", "c"), "up", executor, context.options);
    expect(result.reports.map((report) => report.outcome)).toEqual(["applied", "applied", "applied"]);
    expect(context.history.rows).toEqual(["a", "b", "c"]);
    expect(context.appended).toEqual(["a", "b", "c"]);
    expect(context.events.filter((event) => event.type === "migration-start").map((event) => (event as { id: string }).id)).toEqual(["a", "b", "c"]);
    expect(result).toMatchObject({ isLockLost: false, isInterrupted: false });
  });

  it("skips the rest after a failure and records nothing for the failed step", async () => {
    const context = setup();
    const executor = scripted({ b: [{ isSuccess: false, error: { message: "boom", sqlState: "42P01", statementsApplied: 0 } }] });
    const result = await runSteps(context.adapter, context.session, migrations("a", "b", "c"), "up", executor, context.options);
    expect(result.reports.map((report) => report.outcome)).toEqual(["applied", "failed", "skipped"]);
    expect(context.history.rows).toEqual(["a"]);
    expect(executor.calls).toEqual(["a", "b"]);
  });

  it("retries a lock timeout with nothing applied, with backoff, and reports the attempts", async () => {
    const context = setup();
    const timeout = { isSuccess: false, error: { message: "canceling statement due to lock timeout", sqlState: "55P03", statementsApplied: 0 } };
    const executor = scripted({ a: [timeout, timeout] });
    const result = await runSteps(context.adapter, context.session, migrations("a"), "up", executor, context.options);
    expect(result.reports[0]).toMatchObject({ outcome: "applied", attempts: 3 });
    expect(context.events.filter((event) => event.type === "retry")).toHaveLength(2);
  });

  it("does not retry a lock timeout once statements of the step stayed applied", async () => {
    const context = setup();
    const executor = scripted({ a: [{ isSuccess: false, transactional: false, wasStarted: true, error: { message: "lock timeout", sqlState: "55P03", statementsApplied: 1 } }] });
    const result = await runSteps(context.adapter, context.session, migrations("a"), "up", executor, context.options);
    expect(result.reports[0]).toMatchObject({ outcome: "failed" });
    expect(executor.calls).toEqual(["a"]);
  });

  it("starts no step once the lock is gone, and says so", async () => {
    let held = true;
    const context = setup({ isHeld: () => held });
    const executor: StepExecutor = {
      writesOwnHistory: false,
      async attempt(step, hooks) {
        await hooks.finish(fakeDatabase(), 1, false);
        held = false; // the session ended after this step committed
        return { isSuccess: true, transactional: true, durationMs: 1, wasStarted: false };
      },
    };
    const result = await runSteps(context.adapter, context.session, migrations("a", "b"), "up", executor, context.options);
    expect(result.reports.map((report) => report.outcome)).toEqual(["applied", "skipped"]);
    expect(result.isLockLost).toBe(true);
  });

  it("treats a step that failed because its session ended as a lost lock", async () => {
    const context = setup();
    const executor = scripted({ a: [{ isSuccess: false, error: { message: "terminating connection due to administrator command", sqlState: "57P01" } }] });
    const result = await runSteps(context.adapter, context.session, migrations("a", "b"), "up", executor, context.options);
    expect(result.isLockLost).toBe(true);
    expect(result.reports.map((report) => report.outcome)).toEqual(["failed", "skipped"]);
  });

  it("stops before the next step when asked to stop", async () => {
    const context = setup();
    const stop = new AbortController();
    const executor: StepExecutor = {
      writesOwnHistory: false,
      async attempt(_step, hooks) {
        await hooks.finish(fakeDatabase(), 1, false);
        stop.abort(new Error("SIGINT"));
        return { isSuccess: true, transactional: true, durationMs: 1, wasStarted: false };
      },
    };
    const result = await runSteps(context.adapter, context.session, migrations("a", "b", "c"), "up", executor, { ...context.options, signal: stop.signal });
    expect(result.reports.map((report) => report.outcome)).toEqual(["applied", "skipped", "skipped"]);
    expect(result.isInterrupted).toBe(true);
  });

  it("clears the started record of a failed step known to have changed nothing, and keeps it otherwise", async () => {
    for (const [statementsApplied, isCleared] of [[0, true], [1, false], [undefined, false]] as const) {
      const context = setup();
      const executor = scripted({
        a: [{ isSuccess: false, transactional: false, wasStarted: true, error: { message: "boom", sqlState: "23505", ...(statementsApplied === undefined ? {} : { statementsApplied }) } }],
      });
      await runSteps(context.adapter, context.session, migrations("a"), "up", executor, context.options);
      const cleared = context.client.queries.some((query) => query.startsWith("DELETE FROM polymigrate.unfinished_migrations"));
      expect(cleared, `statementsApplied ${statementsApplied}`).toBe(isCleared);
    }
  });
});

describe("isSessionLost", () => {
  it("knows the server's and the client's ways of saying the session is gone", () => {
    expect(isSessionLost({ message: "x", sqlState: "57P01" })).toBe(true);
    expect(isSessionLost({ message: "x", sqlState: "08006" })).toBe(true);
    expect(isSessionLost({ message: "x", sqlState: "PMLCK" })).toBe(true);
    expect(isSessionLost({ message: "Connection terminated unexpectedly" })).toBe(true);
    expect(isSessionLost({ message: "relation does not exist", sqlState: "42P01" })).toBe(false);
    expect(isSessionLost(undefined)).toBe(false);
  });
});
