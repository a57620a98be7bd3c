import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { quoteIdent, type DatabaseSession } from "../db/connect.js";
import type { StackAdapter } from "../model/adapter.js";
import { MigrateError } from "../model/errors.js";
import type { EventSink } from "../model/events.js";
import type { Migration } from "../model/migration.js";
import type { Plan } from "../model/plan.js";
import type { LintSummary } from "../model/report.js";
import type { LintFinding, LintMigration, LintSettings } from "./lint-finding.js";
import { lintMigrations, type LintOptions, type LintResult } from "./lint-migrations.js";
import type { TableName } from "./sql-facts.js";
import { measureTables } from "./table-size.js";

/**
 * The URL handed to a stack that renders its SQL offline (Alembic's `upgrade --sql`) when lint runs without a
 * database: offline mode never connects, it only needs the dialect.
 */
export const OFFLINE_RENDER_URL = "postgresql://offline@localhost/offline";

/** Counts the findings that count, by level, and the suppressed ones. */
export function countFindings(findings: LintFinding[]): Pick<LintSummary, "errors" | "warnings" | "suppressed"> {
  return {
    errors: findings.filter((finding) => !finding.suppressed && finding.level === "error").length,
    warnings: findings.filter((finding) => !finding.suppressed && finding.level === "warning").length,
    suppressed: findings.filter((finding) => finding.suppressed).length,
  };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

// Where a migration's SQL starts in its file: line 1 and the whole file, or the line a section starts on.
// Read synchronously: a thousand small files read in a few milliseconds this way, against a tenth of a second through
// the thread pool.
function placeInFile(migration: Migration, sql: string): { firstLine: number; isWholeFile?: true } {
  const content = readText(migration.file);
  if (content === sql) return { firstLine: 1, isWholeFile: true };
  const offset = content === undefined ? -1 : content.indexOf(sql);
  return { firstLine: offset <= 0 ? 1 : content!.slice(0, offset).split("\n").length };
}

// The line of a revision's `def upgrade(` (Alembic), where findings in its rendered SQL point, and the function's
// lines, to place each finding on the `op.` call that names its index, column or table.
function upgradeFunctionOf(file: string): { anchorLine: number; sourceLines?: string[] } {
  const lines = (readText(file) ?? "").split("\n");
  const start = lines.findIndex((line) => /^\s*(?:async\s+)?def\s+upgrade\s*\(/.test(line));
  if (start === -1) return { anchorLine: 1 };
  const indent = /^\s*/.exec(lines[start]!)![0].length;
  let end = start + 1;
  while (end < lines.length && (lines[end]!.trim() === "" || /^\s*/.exec(lines[end]!)![0].length > indent || lines[end]!.trim().startsWith("#"))) end++;
  return { anchorLine: start + 1, sourceLines: lines.slice(start, end) };
}

/**
 * The lint's view of migrations: their SQL (or, for stacks whose migrations are code, the SQL `rendered` for them),
 * placed in the user's file. Migrations without SQL are left out.
 */
export async function toLintMigrations(migrations: Migration[], rendered: Record<string, string> = {}): Promise<LintMigration[]> {
  const inputs = await Promise.all(
    migrations.map(async (migration): Promise<LintMigration | undefined> => {
      if (migration.sql !== undefined) {
        return {
          id: migration.id,
          file: migration.file,
          sql: migration.sql,
          ...placeInFile(migration, migration.sql),
          ...(migration.transactional === undefined ? {} : { transactional: migration.transactional }),
        };
      }
      const sql = rendered[migration.id];
      if (sql === undefined) return undefined;
      return { id: migration.id, file: migration.file, sql, ...upgradeFunctionOf(migration.file), isWrappedByStack: true };
    }),
  );
  return inputs.filter((input): input is LintMigration => input !== undefined);
}

/** Whether a table exists and has no rows; waits at most a moment for its lock, and says "no" when unsure. */
export function tableEmptinessProbe(session: DatabaseSession): (table: TableName) => Promise<boolean> {
  return async (table) => {
    const name = table.schema ? `${quoteIdent(table.schema)}.${quoteIdent(table.name)}` : quoteIdent(table.name);
    try {
      await session.client.query("BEGIN");
      await session.client.query("SET LOCAL lock_timeout = '500ms'");
      const result = await session.client.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${name}) AS empty`);
      await session.client.query("COMMIT");
      return result.rows[0]?.empty === true;
    } catch {
      await session.client.query("ROLLBACK").catch(() => {});
      return false;
    }
  };
}

function placeOf(adapter: StackAdapter, finding: LintFinding): string {
  return `${relative(adapter.dir, finding.file) || finding.file}:${finding.line}${finding.renderedLine ? ` (line ${finding.renderedLine} of its SQL)` : ""}`;
}

/** Options of {@link lintPending}. */
export interface LintPendingOptions {
  settings?: LintSettings;
  emit?: EventSink;
  project: string;
  url: string;
  env?: Record<string, string | undefined>;
}

/**
 * Lints the pending migrations of a plan against the database they are about to run on: the run's context (tables it
 * creates, applied views), the size of the tables its lock and rewrite hazards are on, and the server's version. Stacks whose migrations are code render their SQL
 * first (Alembic's offline mode).
 */
export async function lintPending(
  adapter: StackAdapter,
  session: DatabaseSession,
  plan: Plan,
  pending: Migration[],
  options: LintPendingOptions,
): Promise<LintResult & { summary: LintSummary }> {
  const emit = options.emit ?? (() => {});
  const rendered =
    adapter.native?.renderSql && pending.length > 0
      ? await adapter.native.renderSql(pending, { url: options.url, env: {}, emit, project: options.project })
      : {};
  const pendingIds = new Set(pending.map((migration) => migration.id));
  const applied = plan.entries
    .filter((entry) => (entry.state === "applied" || entry.state === "changed") && entry.migration && !pendingIds.has(entry.id))
    .map((entry) => entry.migration as Migration);
  const inputs = await toLintMigrations(pending, rendered);
  const lintOptions: LintOptions = {
    ...options.settings,
    serverVersionNum: session.serverVersionNum,
    scope: "run",
    context: await toLintMigrations(applied.filter((migration) => migration.sql !== undefined)),
    isTableEmpty: tableEmptinessProbe(session),
    measureTables: (references) => measureTables(session, references),
    ...(options.env ? { env: options.env } : {}),
  };
  const result = await lintMigrations(inputs, lintOptions);
  for (const message of result.notices) emit({ type: "notice", project: options.project, level: "warning", message });
  const harmless = result.findings.filter((finding) => finding.suppressed && finding.hazard);
  if (harmless.length > 0) {
    const listed = harmless.slice(0, 10).map((finding) => `  ${placeOf(adapter, finding)}  ${finding.rule}: ${finding.suppressed}`);
    if (harmless.length > 10) listed.push(`  … and ${harmless.length - 10} more (see --json)`);
    emit({
      type: "notice",
      project: options.project,
      level: "info",
      message: `The safety lint judged ${harmless.length} lock or rewrite hazard(s) harmless on this database:\n${listed.join("\n")}`,
    });
  }
  return {
    ...result,
    summary: { scope: "pending", migrations: inputs.length, squawk: result.squawk, ...countFindings(result.findings) },
  };
}


/** `up`'s lint settings: the project's rules, and whether errors are let through (`--allow-unsafe`). */
export interface UpLintSettings extends LintSettings {
  allowUnsafe?: boolean;
}

/**
 * `up`'s gate: lints the migrations about to run and refuses (`UNSAFE_MIGRATION`, nothing applied) when an error is
 * found, unless `allowUnsafe`, which lets them through with a warning. Returns the findings for the report.
 */
export async function checkPendingSafety(
  adapter: StackAdapter,
  session: DatabaseSession,
  plan: Plan,
  pending: Migration[],
  options: LintPendingOptions & {
    settings: UpLintSettings;
    /** Called with the findings before any refusal, so that the report keeps them. */
    onFindings?: (findings: LintFinding[], summary: LintSummary) => void;
  },
): Promise<{ findings: LintFinding[]; summary: LintSummary }> {
  const { allowUnsafe, ...settings } = options.settings;
  const result = await lintPending(adapter, session, plan, pending, { ...options, settings });
  options.onFindings?.(result.findings, result.summary);
  const errors = result.findings.filter((finding) => !finding.suppressed && finding.level === "error");
  if (errors.length === 0) return result;
  const listed = errors.slice(0, 10).map((finding) => `  ${placeOf(adapter, finding)}  ${finding.rule}: ${finding.message}`);
  if (errors.length > 10) listed.push(`  … and ${errors.length - 10} more`);
  if (allowUnsafe) {
    options.emit?.({
      type: "notice",
      project: options.project,
      level: "warning",
      message: `Applying despite ${errors.length} lint error(s), as --allow-unsafe asks:\n${listed.join("\n")}`,
    });
    return result;
  }
  throw new MigrateError(
    "UNSAFE_MIGRATION",
    `The safety lint found ${errors.length} error(s) in the pending migrations; nothing was applied:\n${listed.join("\n")}\nMake the migrations safe, silence a finding with "-- polymigrate:allow <rule>" on the line before its statement, or run "migrate up --allow-unsafe".`,
    { details: { findings: errors } },
  );
}
