import type { Migration, MigrationFailure, MigrationReport, NativeRunContext, NativeRunner } from "@polymigrate/core";
import { redact } from "@polymigrate/core";
import { failedRun, runAlembic, tailOf, type AlembicTool } from "./alembic-command.js";
import type { AlembicProject } from "./alembic-layout.js";
import { PSYCOPG2_SQLSTATES } from "./psycopg2-sqlstates.js";

/** What the runner needs to run the project's Alembic. */
export interface AlembicRunnerOptions {
  /** Read on each run, so that a changed alembic.ini is seen. */
  project: () => AlembicProject;
  urlEnv: string;
  /** Resolved on first use, so that `status` never starts a child process. */
  tool: () => Promise<AlembicTool>;
  /** Checks with Alembic's own API that the graph read from the files is Alembic's; throws when it is not. */
  verify: () => Promise<void>;
}

/** One `Running upgrade a -> b, message` line of Alembic's log. */
export interface AlembicStepLine {
  direction: "up" | "down";
  /** The revision the step runs: the new one for an upgrade, the removed one for a downgrade. */
  revision: string;
}

/** Parses Alembic's per-revision log line (`Running upgrade  -> a1, msg`, `Running downgrade a1 -> , msg`). */
export function parseStepLine(line: string): AlembicStepLine | undefined {
  const match = /Running (upgrade|downgrade) (.*?) -> ([^,\s]*)/.exec(line);
  if (!match) return undefined;
  if (match[1] === "upgrade") return match[3] ? { direction: "up", revision: match[3] } : undefined;
  const from = (match[2] ?? "").split(",")[0]?.trim();
  return from ? { direction: "down", revision: from } : undefined;
}

/**
 * Reads the database's error out of Alembic's stderr (a Python traceback ending in SQLAlchemy's
 * `sqlalchemy.exc.X: (psycopg2.errors.Y) message` with `[SQL: ...]`), with its SQLSTATE when the class names one.
 */
export function parseAlembicError(stderr: string): MigrationFailure {
  const lines = stderr.split(/\r?\n/);
  const stderrTail = tailOf(stderr);
  let index = -1;
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    if (/^sqlalchemy\.exc\.\w+: \(/.test(lines[i] ?? "")) {
      index = i;
      break;
    }
  }
  if (index === -1) {
    const last = [...lines].reverse().find((line) => /^[\w.]+(Error|Exception|Exit)\b/.test(line)) ??
      [...lines].reverse().find((line) => line.trim() !== "") ?? "Alembic failed without a message";
    return { message: redact(last.trim()), stderrTail };
  }
  const head = /^sqlalchemy\.exc\.\w+: \(([\w.]+)\) ?(.*)$/.exec(lines[index] ?? "");
  const errorClass = head?.[1] ?? "";
  const body: string[] = [head?.[2] ?? ""];
  let detail: string | undefined;
  let hint: string | undefined;
  let statement: string | undefined;
  for (let i = index + 1; i < lines.length; i += 1) {
    const line = lines[i] ?? "";
    if (line.startsWith("[SQL:")) {
      const sql: string[] = [line.slice("[SQL:".length).trimStart()];
      while (!sql[sql.length - 1]?.endsWith("]") && i + 1 < lines.length) sql.push(lines[++i] ?? "");
      statement = sql.join("\n").replace(/\]$/, "").trim();
      continue;
    }
    if (line.startsWith("[parameters:") || line.startsWith("(Background on this error")) continue;
    if (line.startsWith("DETAIL:")) detail = line.slice("DETAIL:".length).trim();
    else if (line.startsWith("HINT:")) hint = line.slice("HINT:".length).trim();
    else if (statement === undefined && line.trim() !== "") body.push(line);
  }
  const className = errorClass.split(".").pop() ?? "";
  const sqlState = errorClass.startsWith("psycopg2.") ? PSYCOPG2_SQLSTATES[className] : undefined;
  return {
    message: redact(body.join("\n").trim()),
    ...(sqlState ? { sqlState } : {}),
    ...(statement ? { statement: redact(statement) } : {}),
    ...(detail ? { detail: redact(detail) } : {}),
    ...(hint ? { hint: redact(hint) } : {}),
    stderrTail,
  };
}

// The target of `alembic downgrade` that undoes exactly `migration` (see `downgradeTargetOf`).
function downgradeTarget(migration: Migration): string {
  return (migration.meta?.downgradeTarget as string | undefined) ?? "base";
}

// The revision offline mode starts from for `migration`: its one down revision, or the base.
function offlineStart(migration: Migration): string {
  const parents = (migration.meta?.downRevisions as string[] | undefined) ?? [];
  return parents.length === 1 ? (parents[0] as string) : "base";
}

/**
 * Runs Alembic one revision per call (`alembic upgrade <rev>`, `alembic downgrade <down_revision>`): each revision
 * commits on its own whatever env.py's transaction setting, so a failure keeps the revisions before it applied, as on
 * every other stack, and the report's timing and outcome are per revision. Alembic's own `Running upgrade` log line
 * marks when the revision's code starts. Before the first, Alembic's own API confirms the revision graph the plan was
 * made from (the files were read without Python).
 */
export function createAlembicRunner(options: AlembicRunnerOptions): NativeRunner {
  const { urlEnv } = options;

  const runSteps = async (
    migrations: Migration[],
    context: NativeRunContext,
    direction: "up" | "down",
  ): Promise<MigrationReport[]> => {
    const tool = await options.tool();
    const project = options.project();
    await options.verify();
    const reports: MigrationReport[] = [];
    let failed = false;
    for (const [index, migration] of migrations.entries()) {
      if (failed) {
        reports.push({ id: migration.id, name: migration.name, outcome: "skipped" });
        continue;
      }
      context.emit({
        type: "migration-start",
        project: context.project,
        id: migration.id,
        index,
        total: migrations.length,
        transactional: true,
        direction,
      });
      const spawned = performance.now();
      let started: number | undefined;
      const seen: string[] = [];
      const args = direction === "up" ? ["upgrade", migration.id] : ["downgrade", downgradeTarget(migration)];
      const result = await runAlembic(tool, project, urlEnv, args, {
        url: context.url,
        env: context.env,
        onStderrLine: (line) => {
          const step = parseStepLine(line);
          if (!step) return;
          seen.push(step.revision);
          started ??= performance.now();
        },
      });
      const durationMs = Math.round(performance.now() - (started ?? spawned));
      const isSuccess = result.exitCode === 0;
      const outcome = isSuccess ? (direction === "up" ? "applied" : "rolled-back") : "failed";
      context.emit({ type: "migration-end", project: context.project, id: migration.id, outcome, durationMs, direction });
      const report: MigrationReport = { id: migration.id, name: migration.name, outcome, durationMs, transactional: true };
      if (!isSuccess) {
        failed = true;
        const line = lineInFile(result.stderr, migration.file);
        report.error = { ...parseAlembicError(result.stderr), file: migration.file, ...(line === undefined ? {} : { line }) };
      } else if (seen.some((id) => id !== migration.id)) {
        // Alembic ran more than this revision (a dependency the graph did not show): say so rather than hide it.
        context.emit({
          type: "notice",
          project: context.project,
          level: "warning",
          message: `Alembic also ran ${seen.filter((id) => id !== migration.id).map((id) => `"${id}"`).join(", ")} for "${migration.id}".`,
        });
      }
      reports.push(report);
    }
    return reports;
  };

  return {
    up: (migrations, context) => runSteps(migrations, context, "up"),
    down: (migrations, context) => runSteps(migrations, context, "down"),
    async renderSql(migrations, context) {
      const tool = await options.tool();
      const project = options.project();
      const rendered: Record<string, string> = {};
      // Offline mode takes one starting revision: run from the first pending revision's parent when it has one
      // parent, else revision by revision.
      const first = migrations[0];
      const last = migrations[migrations.length - 1];
      if (!first || !last) return rendered;
      const isChain = migrations.every((migration, index) => {
        const parents = (migration.meta?.downRevisions as string[] | undefined) ?? [];
        return index === 0 ? parents.length <= 1 : parents.length === 1 && parents[0] === migrations[index - 1]?.id;
      });
      const ranges = isChain
        ? [{ from: offlineStart(first), to: last.id }]
        : migrations.map((migration) => ({ from: offlineStart(migration), to: migration.id }));
      for (const range of ranges) {
        const args = ["upgrade", range.from === "base" ? range.to : `${range.from}:${range.to}`, "--sql"];
        const result = await runAlembic(tool, project, urlEnv, args, { url: context.url, env: context.env });
        if (result.exitCode !== 0) {
          throw failedRun(
            `Alembic could not render the SQL of "${range.to}" in offline mode (alembic upgrade --sql): {error}. Fix the revision or env.py's run_migrations_offline, then run "migrate plan" again.`,
            tool,
            project,
            args,
            result,
          );
        }
        Object.assign(rendered, splitOfflineSql(result.stdout));
      }
      return rendered;
    },
  };
}

/** The line of `file` the traceback in `stderr` went through last (where the revision's code failed). */
export function lineInFile(stderr: string, file: string): number | undefined {
  let line: number | undefined;
  for (const match of stderr.matchAll(/^\s*File "([^"]+)", line (\d+)/gm)) if (match[1] === file) line = Number(match[2]);
  return line;
}

/** Splits `alembic upgrade --sql` output at its `-- Running upgrade a -> b` markers: the SQL of each revision. */
export function splitOfflineSql(output: string): Record<string, string> {
  const sections: Record<string, string> = {};
  let current: string | undefined;
  let buffer: string[] = [];
  const flush = () => {
    if (current !== undefined) sections[current] = `${buffer.join("\n").replace(/\n*COMMIT;\s*$/, "").trim()}\n`;
  };
  for (const line of output.split(/\r?\n/)) {
    const step = line.startsWith("-- Running ") ? parseStepLine(line) : undefined;
    if (step) {
      // The marker is Alembic's comment, not the revision's SQL: leave it out so that statements start with SQL.
      flush();
      current = step.revision;
      buffer = [];
      continue;
    }
    if (current !== undefined) buffer.push(line);
  }
  flush();
  return sections;
}
