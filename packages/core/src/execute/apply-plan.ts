import type { StackAdapter } from "../model/adapter.js";
import type { EventSink } from "../model/events.js";
import type { Migration } from "../model/migration.js";
import type { MigrationReport } from "../model/report.js";
import type { DatabaseSession } from "../db/connect.js";
import { loadSqlParser } from "../sql/statements.js";
import { cleanInvalidIndexesBefore } from "./invalid-indexes.js";
import { runSqlScript, type SqlScript, type SqlScriptResult } from "./run-sql.js";
import {
  DEFAULT_SAFETY,
  applySessionSettings,
  isLockTimeout,
  readSafetyDirectives,
  type SafetySettings,
} from "./session-settings.js";

/** Options of {@link applyMigrations}. */
export interface ApplyOptions {
  project: string;
  emit: EventSink;
  /** lock_timeout, statement_timeout and retries; each migration may override them with comments. */
  safety?: SafetySettings;
}

/**
 * Runs one attempt after another while an attempt fails on a lock timeout with nothing left applied, waiting longer
 * each time: a migration that cannot get its table lock gives up quickly, lets the application's queries through,
 * and tries again.
 */
const appliedSettings = new WeakMap<DatabaseSession, string>();

async function runWithRetries(
  session: DatabaseSession,
  settings: SafetySettings,
  options: ApplyOptions,
  id: string,
  attempt: () => Promise<SqlScriptResult>,
): Promise<{ result: SqlScriptResult; attempts: number }> {
  // Set once per session while they stay the same: a round trip per migration adds up over hundreds of migrations.
  const key = `${settings.lockTimeoutMs}/${settings.statementTimeoutMs}`;
  if (appliedSettings.get(session) !== key) {
    await applySessionSettings(session.client, settings);
    appliedSettings.set(session, key);
  }
  for (let attempts = 1; ; attempts++) {
    const result = await attempt();
    const canRetry =
      !result.isSuccess && isLockTimeout(result.error?.sqlState) && (result.error?.statementsApplied ?? 0) === 0;
    if (!canRetry || attempts > settings.retries) return { result, attempts };
    const delayMs = settings.retryDelayMs * 2 ** (attempts - 1);
    options.emit({
      type: "retry",
      project: options.project,
      id,
      attempt: attempts + 1,
      maxAttempts: settings.retries + 1,
      delayMs,
      reason: result.error?.message ?? "lock timeout",
    });
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/** One direction of one migration, as the two loops below run it. */
interface MigrationStep {
  migration: Migration;
  index: number;
  total: number;
  direction: "up" | "down";
  script: SqlScript;
  /** Whether a later migration of the run commits after this one (so this commit need not wait for the flush). */
  isDeferredFlush: boolean;
  /** Writes the history inside the script's transaction. */
  record: (statementsApplied: number) => Promise<void>;
}

// Runs one step with the session's settings and retries, announcing it, and returns its report.
async function runStep(session: DatabaseSession, options: ApplyOptions, step: MigrationStep): Promise<MigrationReport> {
  const { migration, direction } = step;
  const settings = readSafetyDirectives(step.script.sql, options.safety ?? DEFAULT_SAFETY);
  const { result, attempts } = await runWithRetries(session, settings, options, migration.id, () =>
    runSqlScript(session.client, step.script, {
      serverVersionNum: session.serverVersionNum,
      onStart: (transactional) =>
        options.emit({ type: "migration-start", project: options.project, id: migration.id, index: step.index, total: step.total, transactional, direction }),
      onStatement: (statement) => options.emit({ type: "statement-end", project: options.project, id: migration.id, ...statement }),
      beforeCommit: step.record,
      isDeferredFlush: step.isDeferredFlush,
    }),
  );
  const outcome = result.isSuccess ? (direction === "up" ? "applied" : "rolled-back") : "failed";
  options.emit({ type: "migration-end", project: options.project, id: migration.id, outcome, durationMs: result.durationMs, direction });
  return {
    id: migration.id,
    name: migration.name,
    outcome,
    durationMs: result.durationMs,
    transactional: result.transactional,
    statements: result.statements,
    ...(attempts > 1 ? { attempts } : {}),
    ...(result.error ? { error: result.error } : {}),
  };
}

/**
 * Applies migrations in order, each in its own transaction unless a statement forbids it; stops at the first failure and
 * reports the rest as skipped. Never throws for a failed migration: the report says what happened.
 */
export async function applyMigrations(
  adapter: StackAdapter,
  session: DatabaseSession,
  migrations: Migration[],
  options: ApplyOptions,
): Promise<MigrationReport[]> {
  await loadSqlParser();
  const reports: MigrationReport[] = [];
  for (const [index, migration] of migrations.entries()) {
    if (reports.some((report) => report.outcome === "failed")) {
      reports.push({ id: migration.id, name: migration.name, outcome: "skipped" });
      continue;
    }
    const startedAt = new Date();
    const script: SqlScript = {
      sql: migration.sql ?? "",
      file: migration.file,
      ...(migration.transactional === undefined ? {} : { transactional: migration.transactional }),
    };
    await cleanInvalidIndexesBefore(session.client, script.sql, { project: options.project, id: migration.id, emit: options.emit });
    const report = await runStep(session, options, {
      migration,
      index,
      total: migrations.length,
      direction: "up",
      script,
      isDeferredFlush: index < migrations.length - 1,
      record: async (statementsApplied) => {
        const finishedAt = new Date();
        const durationMs = finishedAt.getTime() - startedAt.getTime();
        await adapter.history.recordApplied(session.client, migration, { startedAt, finishedAt, durationMs, statementsApplied });
      },
    });
    if (report.outcome === "failed" && adapter.history.recordFailed) {
      await adapter.history.recordFailed(session.client, migration, {
        startedAt,
        statementsApplied: report.error?.statementsApplied ?? 0,
        message: report.error?.message ?? "failed",
      });
    }
    reports.push(report);
  }
  await flushDeferredCommits(session, migrations.length, reports);
  return reports;
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

/** Options of {@link rollbackMigrations}. */
export type RollbackOptions = ApplyOptions;

/** Runs the downs of `migrations` (newest first, as given), each with its history update in the same transaction. */
export async function rollbackMigrations(
  adapter: StackAdapter,
  session: DatabaseSession,
  migrations: Migration[],
  options: RollbackOptions,
): Promise<MigrationReport[]> {
  await loadSqlParser();
  const reports: MigrationReport[] = [];
  for (const [index, migration] of migrations.entries()) {
    const down = migration.down;
    if (!down || reports.some((report) => report.outcome === "failed")) {
      reports.push({ id: migration.id, name: migration.name, outcome: "skipped" });
      continue;
    }
    reports.push(
      await runStep(session, options, {
        migration,
        index,
        total: migrations.length,
        direction: "down",
        script: { sql: down.sql, file: down.file, ...(down.line ? { line: down.line } : {}) },
        isDeferredFlush: index < migrations.length - 1,
        record: () => adapter.history.recordRolledBack(session.client, migration),
      }),
    );
  }
  await flushDeferredCommits(session, migrations.length, reports);
  return reports;
}
