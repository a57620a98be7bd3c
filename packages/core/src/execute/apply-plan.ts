import type { StackAdapter } from "../model/adapter.js";
import type { EventSink } from "../model/events.js";
import type { Migration } from "../model/migration.js";
import type { MigrationReport } from "../model/report.js";
import type { DatabaseSession } from "../db/connect.js";
import { runSqlScript } from "./run-sql.js";

/** Options of {@link applyMigrations}. */
export interface ApplyOptions {
  project: string;
  emit: EventSink;
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
    const result = await runSqlScript(session.client, script, {
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
    });
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
  const reports: MigrationReport[] = [];
  let hasFailed = false;
  for (const [index, migration] of migrations.entries()) {
    const down = migration.down;
    if (hasFailed || !down) {
      reports.push({ id: migration.id, name: migration.name, outcome: "skipped" });
      continue;
    }
    const result = await runSqlScript(
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
    );
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
      ...(result.error ? { error: result.error } : {}),
    });
    hasFailed = !result.isSuccess;
  }
  return reports;
}
