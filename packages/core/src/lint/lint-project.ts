import { connect, type DatabaseSession } from "../db/connect.js";
import type { StackAdapter } from "../model/adapter.js";
import { isMigrateError } from "../model/errors.js";
import type { EventSink } from "../model/events.js";
import type { ProjectReport } from "../model/report.js";
import type { ResolvedUrl } from "../policy/direct-url-policy.js";
import { redact, redactValue } from "../policy/redact.js";
import { readProjectPlan } from "../run/project-run.js";
import { loadSqlParser } from "../sql/statements.js";
import type { LintSettings } from "./lint-finding.js";
import { hasLintErrors, lintMigrations } from "./lint-migrations.js";
import { OFFLINE_RENDER_URL, countFindings, lintPending, toLintMigrations } from "./lint-pending.js";

/** One project for `lint`: the database is optional. */
export interface LintTarget {
  name: string;
  adapter: StackAdapter;
  /** The database; without it, lint reads every migration on disk from the files alone. */
  url?: ResolvedUrl;
}

/** Options of {@link lintProject}. */
export interface LintProjectOptions {
  settings?: LintSettings;
  /** Lint every migration on disk, not just the pending ones. */
  all?: boolean;
  emit?: EventSink;
  env?: Record<string, string | undefined>;
}

/**
 * `lint`: the safety lint of a project's pending migrations (with a database), or of every migration on disk (`all`,
 * or no database URL: then each migration is judged as if those before it were applied, as it will be when it is
 * pending in production). The report's outcome is `failed` when an error is found.
 *
 * @example
 * const report = await lintProject({ name: "app", adapter, url: resolveMigrationUrl() });
 */
export async function lintProject(target: LintTarget, options: LintProjectOptions = {}): Promise<ProjectReport> {
  const emit = options.emit ?? (() => {});
  const { adapter } = target;
  const report: ProjectReport = {
    project: target.name,
    stack: adapter.stack,
    dir: adapter.dir,
    ...(target.url ? { database: target.url.display, urlSource: target.url.source } : {}),
    outcome: "success",
    policies: target.url ? [...target.url.decisions] : [],
    migrations: [],
    problems: [],
    durationMs: 0,
  };
  const started = performance.now();
  emit({ type: "project-start", project: target.name, stack: adapter.stack, ...(target.url ? { database: target.url.display } : {}) });
  let session: DatabaseSession | undefined;
  try {
    await loadSqlParser();
    const migrations = await adapter.readMigrations();
    if (target.url && !options.all) {
      session = await connect(target.url.url, { source: target.url.source });
      const { plan } = await readProjectPlan(adapter, session);
      report.problems = plan.problems;
      const result = await lintPending(adapter, session, plan, plan.pending, {
        project: target.name,
        url: target.url.url,
        emit,
        ...(options.settings ? { settings: options.settings } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
      report.findings = result.findings;
      report.lint = result.summary;
    } else {
      if (!target.url) {
        emit({
          type: "notice",
          project: target.name,
          level: "info",
          message: `No database URL: linting all ${migrations.length} migration(s) on disk from the files alone, each as if the ones before it were applied.`,
        });
      }
      let serverVersionNum: number | undefined;
      if (target.url) {
        session = await connect(target.url.url, { source: target.url.source });
        serverVersionNum = session.serverVersionNum;
      }
      const rendered =
        adapter.native?.renderSql && migrations.length > 0
          ? await adapter.native.renderSql(migrations, { url: target.url?.url ?? OFFLINE_RENDER_URL, env: {}, emit, project: target.name })
          : {};
      const inputs = await toLintMigrations(migrations, rendered);
      const result = await lintMigrations(inputs, {
        ...options.settings,
        scope: "migration",
        ...(serverVersionNum ? { serverVersionNum } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
      for (const message of result.notices) emit({ type: "notice", project: target.name, level: "warning", message });
      report.findings = result.findings;
      report.lint = { scope: "all", migrations: inputs.length, squawk: result.squawk, ...countFindings(result.findings) };
    }
    if (hasLintErrors(report.findings ?? [])) report.outcome = "failed";
  } catch (error) {
    report.outcome = isMigrateError(error) && ["USAGE", "MIGRATIONS_INVALID", "STACK_UNSUPPORTED", "URL_POOLED"].includes(error.code) ? "refused" : "failed";
    report.error = {
      code: isMigrateError(error) ? error.code : "MIGRATION_FAILED",
      message: redact(error instanceof Error ? error.message : String(error)),
      ...(isMigrateError(error) ? { details: redactValue(error.details) } : {}),
    };
  } finally {
    await session?.close();
  }
  report.durationMs = Math.round(performance.now() - started);
  emit({ type: "project-end", project: target.name, outcome: report.outcome });
  return redactValue(report);
}
