import type pg from "pg";
import type { MigrationFailure, StatementReport } from "../model/report.js";
import { redact } from "../policy/redact.js";
import { hasNoTransactionDirective, splitStatements, type SqlStatement } from "../sql/statements.js";

/** A SQL text to run as one migration step (an up or a down). */
export interface SqlScript {
  sql: string;
  file: string;
  /** The line of `sql`'s first character in `file` (1-based); default 1. */
  line?: number;
  /** Forces (true) or forbids (false) a transaction; default: decided from the statements. */
  transactional?: boolean;
}

/** What running a script did. */
export interface SqlScriptResult {
  isSuccess: boolean;
  transactional: boolean;
  durationMs: number;
  statements: StatementReport[];
  error?: MigrationFailure;
  /** Set when the script was stopped by its `signal` (and rolled back). */
  isInterrupted?: boolean;
}

/** Options of {@link runSqlScript}. */
export interface RunSqlScriptOptions {
  serverVersionNum: number;
  /** Runs inside the script's transaction after its last statement (the history record). */
  beforeCommit?: (statementsApplied: number) => Promise<void>;
  /** Called once it is known whether the script runs in a transaction, before its first statement. */
  onStart?: (transactional: boolean) => void;
  /**
   * Commit without waiting for the WAL flush (`synchronous_commit = off` for this transaction only). Safe for every
   * migration of a run but the last: the last commit waits for the flush, and WAL is flushed in order, so when the run
   * returns, every migration of it is durable; a server crash before that loses only whole migrations, each with its
   * history row, never half of one.
   */
  isDeferredFlush?: boolean;
  onStatement?: (statement: StatementReport) => void;
  /**
   * Outside a transaction only: runs before the first statement (the started record) and after each statement (its
   * count), so that a run that dies in the middle leaves a record of how far it got.
   */
  outsideTransaction?: {
    onStart(statementsTotal: number): Promise<void>;
    onStatementDone(statementsApplied: number): Promise<void>;
  };
  /**
   * Stops a script in a transaction: when it aborts, `cancel` is called (it cancels the statement in flight) and the
   * transaction rolls back. A script outside a transaction runs to its end (stopping it halfway would leave it half
   * applied), unless `cancel` is called by the caller itself.
   */
  signal?: AbortSignal;
  cancel?: () => Promise<void>;
}

/** Decides whether a script runs in a transaction, and its statements. */
export function prepareScript(script: SqlScript, serverVersionNum: number): {
  statements: SqlStatement[];
  transactional: boolean;
  reason?: string;
} {
  const { statements } = splitStatements(script.sql, { serverVersionNum });
  const offset = (script.line ?? 1) - 1;
  for (const statement of statements) statement.line += offset;
  if (script.transactional !== undefined) return { statements, transactional: script.transactional };
  if (hasNoTransactionDirective(script.sql)) {
    return { statements, transactional: false, reason: "the file asks for it (-- polymigrate:no-transaction)" };
  }
  const blocking = statements.find((statement) => statement.nonTransactionalReason);
  return blocking
    ? { statements, transactional: false, reason: blocking.nonTransactionalReason }
    : { statements, transactional: true };
}

function lineOfPosition(statement: SqlStatement, position: number | undefined): number {
  if (!position) return statement.line;
  const before = statement.text.slice(0, Math.max(0, position - 1));
  return statement.line + (before.match(/\n/g)?.length ?? 0);
}

/** Turns a database error into a failure placed at the statement's file and line. */
export function describeFailure(
  error: unknown,
  file: string,
  statement: SqlStatement | undefined,
  statementsApplied: number,
): MigrationFailure {
  const database = error as Partial<pg.DatabaseError> & Error;
  const position = database.position ? Number(database.position) : undefined;
  const failure: MigrationFailure = {
    message: redact(database.message ?? String(error)),
    file,
    statementsApplied,
  };
  if (database.code) failure.sqlState = database.code;
  if (statement) {
    failure.line = lineOfPosition(statement, position);
    failure.statement = redact(statement.text);
  }
  if (database.detail) failure.detail = redact(database.detail);
  if (database.hint) failure.hint = redact(database.hint);
  return failure;
}

/**
 * Runs a script on `client`: in one transaction (its statements and the history record commit together, or nothing
 * does) unless a statement forbids it; statement by statement, timed; a failure placed at file:line.
 */
export async function runSqlScript(
  client: pg.Client,
  script: SqlScript,
  options: RunSqlScriptOptions,
): Promise<SqlScriptResult> {
  const { statements, transactional } = prepareScript(script, options.serverVersionNum);
  options.onStart?.(transactional);
  const reports: StatementReport[] = [];
  const started = performance.now();
  let current: SqlStatement | undefined;
  const outside = transactional ? undefined : options.outsideTransaction;
  const onAbort = () => void options.cancel?.().catch(() => {});
  if (transactional && options.signal && options.cancel) options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (options.signal?.aborted && transactional) throw options.signal.reason ?? new Error("stopped");
    if (transactional) await client.query(options.isDeferredFlush ? "BEGIN; SET LOCAL synchronous_commit TO off" : "BEGIN");
    else await outside?.onStart(statements.length);
    for (const [index, statement] of statements.entries()) {
      current = statement;
      const statementStarted = performance.now();
      await client.query(statement.text);
      const report = { index, line: statement.line, durationMs: round(performance.now() - statementStarted) };
      reports.push(report);
      await outside?.onStatementDone(reports.length);
      options.onStatement?.(report);
    }
    current = undefined;
    // Outside a transaction, the history record (and the end of the started record) still commit together.
    if (!transactional && options.beforeCommit) await client.query("BEGIN");
    await options.beforeCommit?.(reports.length);
    if (transactional || options.beforeCommit) await client.query("COMMIT");
    return { isSuccess: true, transactional, durationMs: round(performance.now() - started), statements: reports };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    const isInterrupted = options.signal?.aborted === true;
    return {
      isSuccess: false,
      transactional,
      durationMs: round(performance.now() - started),
      statements: reports,
      error: describeFailure(error, script.file, current, transactional ? 0 : reports.length),
      ...(isInterrupted ? { isInterrupted } : {}),
    };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** Milliseconds rounded to a tenth. */
export function round(milliseconds: number): number {
  return Math.round(milliseconds * 10) / 10;
}
