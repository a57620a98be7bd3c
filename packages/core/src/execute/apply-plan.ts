import type { DatabaseSession } from "../db/connect.js";
import { inTransaction } from "../db/queryable.js";
import type { NativeRunContext, NativeRunner, NativeSession, StackAdapter } from "../model/adapter.js";
import type { Migration } from "../model/migration.js";
import { lockGuardSql } from "../lock/migration-lock.js";
import { loadSqlParser } from "../sql/statements.js";
import { cleanInvalidIndexesBefore } from "./invalid-indexes.js";
import { runSqlScript, type SqlScript } from "./run-sql.js";
import { countUnfinishedStatement } from "./unfinished-store.js";
import { runSteps, type StepExecutor, type StepLoopOptions, type StepLoopResult } from "./step-loop.js";

/** Options of {@link applyMigrations} and {@link rollbackMigrations}: the step loop's. */
export type ApplyOptions = StepLoopOptions & {
  /** Cancels the statement in flight on the migrating session (from another connection), for a stop request. */
  cancel?: () => Promise<void>;
};

/**
 * The executor of the SQL stacks: each step's SQL on the migrating session, in one transaction with its bookkeeping
 * unless a statement forbids one; outside a transaction, the started record first and a count after each statement.
 */
export function createSqlExecutor(adapter: StackAdapter, session: DatabaseSession, options: { project: string; emit: ApplyOptions["emit"]; cancel?: () => Promise<void> }): StepExecutor {
  const historyTable = `${adapter.history.location.schema}.${adapter.history.location.table}`;
  const scriptOf = (migration: Migration, direction: "up" | "down"): SqlScript => {
    if (direction === "down") {
      const down = migration.down!;
      return { sql: down.sql, file: down.file, ...(down.line ? { line: down.line } : {}) };
    }
    return { sql: migration.sql ?? "", file: migration.file, ...(migration.transactional === undefined ? {} : { transactional: migration.transactional }) };
  };
  return {
    writesOwnHistory: false,
    async prepare(step) {
      if (step.direction === "up") {
        await cleanInvalidIndexesBefore(session.client, step.sql ?? "", { project: options.project, id: step.migration.id, emit: options.emit });
      }
    },
    async attempt(step, hooks) {
      let wasStarted = false;
      const result = await runSqlScript(session.client, scriptOf(step.migration, step.direction), {
        serverVersionNum: session.serverVersionNum,
        onStart: hooks.onStart,
        onStatement: hooks.onStatement,
        outsideTransaction: {
          async onStart(statementsTotal) {
            await hooks.markStarted(session.client, statementsTotal);
            wasStarted = true;
          },
          onStatementDone: (applied) => countUnfinishedStatement(session.client, historyTable, step.migration.id, applied),
        },
        beforeCommit: (statementsApplied) => hooks.finish(session.client, statementsApplied, wasStarted),
        isDeferredFlush: step.isDeferredFlush,
        ...(hooks.signal ? { signal: hooks.signal } : {}),
        ...(options.cancel ? { cancel: options.cancel } : {}),
      });
      return {
        isSuccess: result.isSuccess,
        transactional: result.transactional,
        durationMs: result.durationMs,
        statements: result.statements,
        wasStarted,
        ...(result.error ? { error: result.error } : {}),
        ...(result.isInterrupted ? { isInterrupted: true } : {}),
      };
    },
  };
}

/**
 * The executor of a native stack (Alembic): the runner's child runs each step on its own connection, guarded by the
 * lock check before each commit and the started record before its first statement outside a transaction; the
 * bookkeeping the core owns (ledger, started record) commits on the migrating session once the step is done.
 */
export function createNativeExecutor(runner: NativeRunner, session: DatabaseSession, context: NativeRunContext, holderPid: number): StepExecutor {
  let opened: NativeSession | undefined;
  return {
    writesOwnHistory: true,
    runsStartedSqlElsewhere: true,
    async attempt(step, hooks) {
      opened ??= await runner.open(context);
      const native = opened;
      hooks.onStart(true);
      const onAbort = () => native.interrupt();
      hooks.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const result = await native.run({
          migration: step.migration,
          direction: step.direction,
          recordStartedSql: hooks.startedSql,
          guardSql: lockGuardSql(holderPid),
        });
        const wasStarted = !result.transactional;
        if (result.isSuccess) await inTransaction(session.client, () => hooks.finish(session.client, 0, wasStarted));
        return {
          isSuccess: result.isSuccess,
          transactional: result.transactional,
          durationMs: result.durationMs,
          wasStarted,
          ...(result.error ? { error: result.error } : {}),
          ...(result.isInterrupted ? { isInterrupted: true } : {}),
        };
      } finally {
        hooks.signal?.removeEventListener("abort", onAbort);
      }
    },
    async close() {
      await opened?.close();
    },
  };
}

/**
 * Applies migrations in order, each in its own transaction unless a statement forbids it; stops at the first failure
 * and reports the rest as skipped. Never throws for a failed migration: the report says what happened.
 */
export async function applyMigrations(adapter: StackAdapter, session: DatabaseSession, migrations: Migration[], options: ApplyOptions): Promise<StepLoopResult> {
  await loadSqlParser();
  const executor = createSqlExecutor(adapter, session, options);
  return runSteps(adapter, session, migrations.map((migration) => ({ migration, sql: migration.sql ?? "" })), "up", executor, options);
}

/** Runs the downs of `migrations` (newest first, as given), each with its history update in the same transaction. */
export async function rollbackMigrations(adapter: StackAdapter, session: DatabaseSession, migrations: Migration[], options: ApplyOptions): Promise<StepLoopResult> {
  await loadSqlParser();
  const executor = createSqlExecutor(adapter, session, options);
  return runSteps(adapter, session, migrations.map((migration) => ({ migration, sql: migration.down?.sql ?? "" })), "down", executor, options);
}
