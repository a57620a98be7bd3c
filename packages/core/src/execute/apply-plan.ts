import type { StackAdapter } from "../model/adapter.js";
import type { EventSink } from "../model/events.js";
import type { Migration } from "../model/migration.js";
import type { MigrationReport } from "../model/report.js";
import type { DatabaseSession } from "../db/connect.js";
import { loadSqlParser } from "../sql/statements.js";
import { cleanInvalidIndexesBefore } from "./invalid-indexes.js";
import { runSqlScript, type SqlScriptResult } from "./run-sql.js";
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
async function runWithRetries(
  session: DatabaseSession,
  settings: SafetySettings,
  options: ApplyOptions,
  id: string,
  attempt: () => Promise<SqlScriptResult>,
): Promise<{ result: SqlScriptResult; attempts: number }> {
  await applySessionSettings(session.client, settings);
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
  let hasFailed = false;
  for (const [index, migration] of migrations.entries()) {
    if (hasFailed) {
      reports.push({ id: migration.id, name: migration.name, outcome: "skipped" });
      continue;
    }
    const startedAt = new Date();
    const script = {
      sql: migration.sql ?? "",
      file: migration.file,
      ...(migration.transactional === undefined ? {} : { transactional: migration.transactional }),
    };
    const settings = readSafetyDirectives(script.sql, options.safety ?? DEFAULT_SAFETY);
    await cleanInvalidIndexesBefore(session.client, script.sql, { project: options.project, id: migration.id, emit: options.emit });
    const { result, attempts } = await runWithRetries(session, settings, options, migration.id, () => runSqlScript(session.client, script, {
      serverVersionNum: session.serverVersionNum,
      onStart: (transactional) => {
        options.emit({
          type: "migration-start",
          project: options.project,
          id: migration.id,
          index,
          total: migrations.length,
          transactional,
          direction: "up",
        });
      },
      onStatement: (statement) => {
        options.emit({ type: "statement-end", project: options.project, id: migration.id, ...statement });
      },
      beforeCommit: async (statementsApplied) => {
        const finishedAt = new Date();
        await adapter.history.recordApplied(session.client, migration, {
          startedAt,
          finishedAt,
          durationMs: finishedAt.getTime() - startedAt.getTime(),
          statementsApplied,
        });
      },
    }));
    if (!result.isSuccess && adapter.history.recordFailed) {
      await adapter.history.recordFailed(session.client, migration, {
        startedAt,
        statementsApplied: result.error?.statementsApplied ?? 0,
        message: result.error?.message ?? "failed",
      });
    }
    const outcome = result.isSuccess ? "applied" : "failed";
    options.emit({
      type: "migration-end",
      project: options.project,
      id: migration.id,
      outcome,
      durationMs: result.durationMs,
      direction: "up",
    });
    reports.push({
      id: migration.id,
      name: migration.name,
      outcome,
      durationMs: result.durationMs,
      transactional: result.transactional,
      statements: result.statements,
      ...(attempts > 1 ? { attempts } : {}),
      ...(result.error ? { error: result.error } : {}),
    });
    hasFailed = !result.isSuccess;
  }
  return reports;
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
  let hasFailed = false;
  for (const [index, migration] of migrations.entries()) {
    const down = migration.down;
    if (hasFailed || !down) {
      reports.push({ id: migration.id, name: migration.name, outcome: "skipped" });
      continue;
    }
    const settings = readSafetyDirectives(down.sql, options.safety ?? DEFAULT_SAFETY);
    const { result, attempts } = await runWithRetries(session, settings, options, migration.id, () => runSqlScript(
      session.client,
      { sql: down.sql, file: down.file, ...(down.line ? { line: down.line } : {}) },
      {
        serverVersionNum: session.serverVersionNum,
        onStart: (transactional) => {
          options.emit({
            type: "migration-start",
            project: options.project,
            id: migration.id,
            index,
            total: migrations.length,
            transactional,
            direction: "down",
          });
        },
        onStatement: (statement) => {
          options.emit({ type: "statement-end", project: options.project, id: migration.id, ...statement });
        },
        beforeCommit: async () => {
          await adapter.history.recordRolledBack(session.client, migration);
        },
      },
    ));
    const outcome = result.isSuccess ? "rolled-back" : "failed";
    options.emit({
      type: "migration-end",
      project: options.project,
      id: migration.id,
      outcome,
      durationMs: result.durationMs,
      direction: "down",
    });
    reports.push({
      id: migration.id,
      name: migration.name,
      outcome,
      durationMs: result.durationMs,
      transactional: result.transactional,
      statements: result.statements,
      ...(attempts > 1 ? { attempts } : {}),
      ...(result.error ? { error: result.error } : {}),
    });
    hasFailed = !result.isSuccess;
  }
  return reports;
}
