import type { DatabaseSession } from "../db/connect.js";
import { inTransaction, type Queryable } from "../db/queryable.js";
import type { StackAdapter } from "../model/adapter.js";
import type { EventSink } from "../model/events.js";
import type { Migration } from "../model/migration.js";
import type { LedgerMigration, MigrationFailure, MigrationReport, StatementReport } from "../model/report.js";
import type { MigrationLock } from "../lock/migration-lock.js";
import { redact } from "../policy/redact.js";
import {
  DEFAULT_SAFETY,
  applySessionSettings,
  isLockTimeout,
  readSafetyDirectives,
  type SafetySettings,
} from "./session-settings.js";
import { clearUnfinished, ensureUnfinishedTable, recordStartedSql } from "./unfinished-store.js";

/** One migration in one direction, as the loop hands it to an executor. */
export interface Step {
  migration: Migration;
  direction: "up" | "down";
  index: number;
  total: number;
  /** The migration's SQL for this direction, when the core runs it (read for its `-- polymigrate:` settings). */
  sql?: string;
  /** The settings for this step: the run's, with the migration's own comments applied. */
  settings: SafetySettings;
  /** Whether a later step of the run commits after this one (so this commit need not wait for the WAL flush). */
  isDeferredFlush: boolean;
}

/** What the loop gives an executor for one attempt of one step. */
export interface StepHooks {
  /** The statement that records the step as started; run it, outside a transaction, before the first such statement. */
  startedSql: string;
  /** Records the step as started (the core's record and the stack's own, where it has one). */
  markStarted(db: Queryable, statementsTotal?: number): Promise<void>;
  /**
   * The step's bookkeeping, inside the transaction that commits it: the stack's history (unless the stack writes it
   * itself), the run's ledger row, and the end of its started record.
   */
  finish(db: Queryable, statementsApplied: number, wasStarted: boolean): Promise<void>;
  onStart(transactional: boolean): void;
  onStatement(statement: StatementReport): void;
  /** Aborts when the run is asked to stop (SIGINT, SIGTERM). */
  signal?: AbortSignal;
}

/** What one attempt of one step did. */
export interface StepAttempt {
  isSuccess: boolean;
  transactional: boolean;
  durationMs: number;
  statements?: StatementReport[];
  error?: MigrationFailure;
  /** Whether its started record was written (it ran, at least in part, outside a transaction). */
  wasStarted: boolean;
  isInterrupted?: boolean;
}

/** Runs steps: the SQL executor for SQL stacks, a native runner for Alembic. */
export interface StepExecutor {
  /** Runs before a step's first attempt (e.g. drops INVALID leftovers of its concurrent index builds). */
  prepare?(step: Step): Promise<void>;
  attempt(step: Step, hooks: StepHooks): Promise<StepAttempt>;
  /** Whether the executor's stack writes its own history row (then `finish` does not). */
  readonly writesOwnHistory: boolean;
  /** Whether another process runs `hooks.startedSql` (a native runner's child): the loop creates its table first. */
  readonly runsStartedSqlElsewhere?: boolean;
  close?(): Promise<void>;
}

/** The run's ledger row, for the loop: opened before the first step, one entry appended inside each step's commit. */
export interface LedgerProgress {
  open(): Promise<void>;
  append(db: Queryable, migration: LedgerMigration): Promise<void>;
}

/** Options of {@link runSteps}. */
export interface StepLoopOptions {
  project: string;
  emit: EventSink;
  safety?: SafetySettings;
  runId: string;
  /** The migration lock, held by `session`: no step starts once it is gone. */
  lock: MigrationLock;
  signal?: AbortSignal;
  ledger?: LedgerProgress;
}

/** What the loop did: one report per migration, and why it stopped early, if it did. */
export interface StepLoopResult {
  reports: MigrationReport[];
  /** The lock's session ended during the run (a step may have failed with it). */
  isLockLost: boolean;
  /** The run was asked to stop (a signal) and stopped before its end. */
  isInterrupted: boolean;
}

const appliedSettings = new WeakMap<DatabaseSession, string>();

// Session settings are set once per session while they stay the same: a round trip per migration adds up.
async function useSettings(session: DatabaseSession, settings: SafetySettings): Promise<void> {
  const key = `${settings.lockTimeoutMs}/${settings.statementTimeoutMs}`;
  if (appliedSettings.get(session) === key) return;
  await applySessionSettings(session.client, settings);
  appliedSettings.set(session, key);
}

function historyTableOf(adapter: StackAdapter): string {
  return `${adapter.history.location.schema}.${adapter.history.location.table}`;
}

/**
 * The one step loop of every stack and direction. Per migration, in order: stop if the lock is gone or the run was
 * asked to stop; announce it; run it (the executor decides how), retrying with backoff while it fails on a lock
 * timeout with nothing applied; its bookkeeping commits with it (history, ledger, end of the started record); a
 * failure is recorded as the stack records failures, and the rest are skipped. Never throws for a failed migration.
 */
export async function runSteps(
  adapter: StackAdapter,
  session: DatabaseSession,
  migrations: Array<{ migration: Migration; sql?: string }>,
  direction: "up" | "down",
  executor: StepExecutor,
  options: StepLoopOptions,
): Promise<StepLoopResult> {
  const reports: MigrationReport[] = [];
  const historyTable = historyTableOf(adapter);
  let hasUnfinishedTable = false;
  let hasOpenedLedger = false;
  let hasFailed = false;
  let isLockLost = false;
  let isInterrupted = false;
  const base = options.safety ?? DEFAULT_SAFETY;
  for (const [index, { migration, sql }] of migrations.entries()) {
    if (!hasFailed && !isLockLost && !isInterrupted) {
      if (!options.lock.isHeld()) isLockLost = true;
      else if (options.signal?.aborted) isInterrupted = true;
    }
    if (hasFailed || isLockLost || isInterrupted) {
      reports.push({ id: migration.id, name: migration.name, outcome: "skipped" });
      continue;
    }
    if (!hasOpenedLedger) {
      await options.ledger?.open();
      hasOpenedLedger = true;
    }
    const step: Step = {
      migration,
      direction,
      index,
      total: migrations.length,
      ...(sql === undefined ? {} : { sql }),
      settings: sql === undefined ? base : readSafetyDirectives(sql, base),
      isDeferredFlush: index < migrations.length - 1,
    };
    await useSettings(session, step.settings);
    if (executor.runsStartedSqlElsewhere && !hasUnfinishedTable) {
      await ensureUnfinishedTable(session.client);
      hasUnfinishedTable = true;
    }
    await executor.prepare?.(step);
    const startedAt = new Date();
    const hooks: StepHooks = {
      startedSql: recordStartedSql({ historyTable, id: migration.id, runId: options.runId, direction, file: migration.file, isCounted: false }),
      async markStarted(db, statementsTotal) {
        if (!hasUnfinishedTable) {
          await ensureUnfinishedTable(db);
          hasUnfinishedTable = true;
        }
        // One transaction for both records: a kill between them left the core's record without Prisma's started row,
        // so `prisma migrate deploy` would not have stopped on the migration (found by scripts/crash-test.mjs).
        await inTransaction(db, async () => {
          await db.query(
            recordStartedSql({ historyTable, id: migration.id, runId: options.runId, direction, file: migration.file, ...(statementsTotal === undefined ? {} : { statementsTotal }) }),
          );
          if (direction === "up") await adapter.history.recordStarted?.(db, migration, { startedAt });
        });
      },
      async finish(db, statementsApplied, wasStarted) {
        if (!executor.writesOwnHistory) {
          if (direction === "up") {
            const finishedAt = new Date();
            await adapter.history.recordApplied(db, migration, {
              startedAt,
              finishedAt,
              durationMs: finishedAt.getTime() - startedAt.getTime(),
              statementsApplied,
              ...(wasStarted ? { wasStarted } : {}),
            });
          } else await adapter.history.recordRolledBack(db, migration);
        }
        if (wasStarted) await clearUnfinished(db, historyTable, migration.id);
        await options.ledger?.append(db, {
          id: migration.id,
          name: migration.name,
          outcome: direction === "up" ? "applied" : "rolled-back",
          checksum: migration.checksum,
          durationMs: Date.now() - startedAt.getTime(),
        });
      },
      onStart: (transactional) =>
        options.emit({ type: "migration-start", project: options.project, id: migration.id, index, total: migrations.length, transactional, direction }),
      onStatement: (statement) => options.emit({ type: "statement-end", project: options.project, id: migration.id, ...statement }),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    let attempt: StepAttempt;
    let attempts = 1;
    for (;; attempts++) {
      attempt = await executor.attempt(step, hooks);
      const canRetry =
        !attempt.isSuccess &&
        !attempt.isInterrupted &&
        isLockTimeout(attempt.error?.sqlState) &&
        (attempt.error?.statementsApplied ?? (attempt.wasStarted ? 1 : 0)) === 0 &&
        options.lock.isHeld();
      if (!canRetry || attempts > step.settings.retries) break;
      const delayMs = step.settings.retryDelayMs * 2 ** (attempts - 1);
      options.emit({
        type: "retry",
        project: options.project,
        id: migration.id,
        attempt: attempts + 1,
        maxAttempts: step.settings.retries + 1,
        delayMs,
        reason: attempt.error?.message ?? "lock timeout",
      });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    const outcome = attempt.isSuccess ? (direction === "up" ? "applied" : "rolled-back") : "failed";
    options.emit({ type: "migration-end", project: options.project, id: migration.id, outcome, durationMs: attempt.durationMs, direction });
    if (!attempt.isSuccess) {
      hasFailed = true;
      if (attempt.isInterrupted) isInterrupted = true;
      if (!options.lock.isHeld() || isSessionLost(attempt.error)) isLockLost = true;
      else await recordFailure(adapter, session, migration, direction, attempt, startedAt, historyTable);
    }
    reports.push({
      id: migration.id,
      name: migration.name,
      outcome,
      durationMs: attempt.durationMs,
      transactional: attempt.transactional,
      ...(attempt.statements ? { statements: attempt.statements } : {}),
      ...(attempts > 1 ? { attempts } : {}),
      ...(attempt.error ? { error: attempt.error } : {}),
    });
  }
  await executor.close?.();
  if (session.isAlive()) await flushDeferredCommits(session, migrations.length, reports);
  return { reports, isLockLost, isInterrupted };
}

/**
 * Whether a failure means the migrating session (and with it the lock) is gone: the server ended it (57P01-57P03), the
 * connection broke (class 08), the client found it closed, or a native runner's lock check failed (PMLCK).
 */
export function isSessionLost(error: MigrationFailure | undefined): boolean {
  if (!error) return false;
  const state = error.sqlState ?? "";
  if (state.startsWith("08") || ["57P01", "57P02", "57P03", "PMLCK"].includes(state)) return true;
  return !state && /Connection terminated|not queryable|ECONNRESET|connection (is )?closed/i.test(error.message);
}

// After a failure, on a session that still holds the lock: the stack's failed state (Prisma's row), and the started
// record kept only when statements of it stayed applied (then the next run must not run them again).
async function recordFailure(
  adapter: StackAdapter,
  session: DatabaseSession,
  migration: Migration,
  direction: "up" | "down",
  attempt: StepAttempt,
  startedAt: Date,
  historyTable: string,
): Promise<void> {
  try {
    const statementsApplied = attempt.error?.statementsApplied ?? 0;
    if (direction === "up" && adapter.history.recordFailed) {
      await adapter.history.recordFailed(session.client, migration, {
        startedAt,
        statementsApplied,
        message: attempt.error?.message ?? "failed",
        ...(attempt.wasStarted ? { wasStarted: true } : {}),
      });
    }
    // Known to have changed nothing (the core counted its statements): the record goes. A native step's count is
    // unknown, so its record stays.
    if (attempt.wasStarted && attempt.error?.statementsApplied === 0) await clearUnfinished(session.client, historyTable, migration.id);
  } catch (error) {
    // The failure itself is in the report; a bookkeeping error after it must not hide it.
    attempt.error = { ...(attempt.error ?? { message: "failed" }), detail: redact(`${attempt.error?.detail ? `${attempt.error.detail} ` : ""}(recording the failure failed too: ${error instanceof Error ? error.message : String(error)})`) };
  }
}

/**
 * When the run ended before its last migration committed (a failure), the commits before it may still wait for the
 * WAL flush: one tiny transaction with an xid commits synchronously, and flushing it flushes everything before it.
 */
async function flushDeferredCommits(session: DatabaseSession, total: number, reports: MigrationReport[]): Promise<void> {
  const done = reports.filter((report) => report.outcome === "applied" || report.outcome === "rolled-back").length;
  if (done === 0 || done === total) return;
  await session.client.query("BEGIN; SELECT txid_current(); COMMIT").catch(() => {});
}
