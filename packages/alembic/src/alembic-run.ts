import { existsSync } from "node:fs";
import type { Migration, NativeRunContext, NativeRunner, NativeSession, NativeStep, NativeStepResult } from "@polymigrate/core";
import { ChildProcessError, isMigrateError, redact } from "@polymigrate/core";
import { startAlembicHelper, toMigrationFailure, type AlembicHelper, type HelperRequest, type HelperResponse } from "./alembic-helper.js";
import type { AlembicInspection } from "./alembic-inspect.js";
import type { AlembicProject } from "./alembic-layout.js";

/** What the runner needs to run the project's Alembic. */
export interface AlembicRunnerOptions {
  /** Read on each run, so that a changed alembic.ini is seen. */
  project: () => AlembicProject;
  urlEnv: string;
  /** The Pythons to run the helper with, in order: the first that can import Alembic runs it. */
  pythons: () => string[];
  /** Finds the Python as the other commands do, or throws `TOOL_UNAVAILABLE` naming what was tried. */
  python: () => Promise<string>;
  /** Checks Alembic's own revision graph against the one the plan was read from; throws when they differ. */
  verify: (inspection: AlembicInspection) => void;
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

// The target of `alembic downgrade` that undoes exactly `migration` (see `downgradeTargetOf`).
function downgradeTarget(migration: Migration): string {
  return (migration.meta?.downgradeTarget as string | undefined) ?? "base";
}

// The revision offline mode starts from for `migration`: its one down revision, or the base.
function offlineStart(migration: Migration): string {
  const parents = (migration.meta?.downRevisions as string[] | undefined) ?? [];
  return parents.length === 1 ? (parents[0] as string) : "base";
}

/** The helper's request for one step: the revision to upgrade to, or the target that undoes exactly that revision. */
export function toHelperRequest(step: NativeStep): HelperRequest {
  const { migration, recordStartedSql, guardSql } = step;
  return step.direction === "up"
    ? { op: "upgrade", revision: migration.id, recordStartedSql, guardSql }
    : { op: "downgrade", target: downgradeTarget(migration), revision: migration.id, recordStartedSql, guardSql };
}

/** A step's result from the helper's answer, with the revision's file on a failure. */
export function toStepResult(response: HelperResponse, migration: Migration): NativeStepResult {
  return {
    isSuccess: response.isSuccess,
    durationMs: Math.round(response.durationMs ?? 0),
    transactional: response.transactional ?? true,
    ...(response.isSuccess ? {} : { error: toMigrationFailure(response, migration.file) }),
    ...(response.isInterrupted ? { isInterrupted: true } : {}),
  };
}

// A failed request of the helper as the helper's own error would say it (for the step that was running).
function lostHelper(error: unknown, migration: Migration, startedAt: number): NativeStepResult {
  const message = isMigrateError(error) ? error.message : redact(String(error));
  const stderrTail = isMigrateError(error) && typeof error.details.stderrTail === "string" ? error.details.stderrTail : undefined;
  return {
    isSuccess: false,
    durationMs: Math.round(performance.now() - startedAt),
    transactional: true,
    error: {
      message: `${message} Whether revision "${migration.id}" committed is unknown: run "migrate status" to see.`,
      file: migration.file,
      ...(stderrTail ? { stderrTail } : {}),
    },
  };
}

/**
 * Runs Alembic in one long-lived Python process per run (the shipped helper, `--serve`), one revision per step with
 * Alembic's own API and the project's env.py, so that each revision commits on its own whatever env.py's transaction
 * setting, and a failure keeps the revisions before it applied. Inside the helper, the core's guard SQL runs before every
 * commit and before every autocommit statement, and the step's started record before its first autocommit statement.
 * Before the first step, Alembic's own graph is checked against the one the plan was made from (read without Python).
 */
export function createAlembicRunner(options: AlembicRunnerOptions): NativeRunner {
  const { urlEnv } = options;

  // The helper is its own probe (a Python without Alembic exits at once with a known code): no separate start-up
  // per candidate to find the Python first.
  const startHelper = async (context: NativeRunContext): Promise<AlembicHelper> => {
    const start = (python: string) => startAlembicHelper({ python, project: options.project(), urlEnv, url: context.url, env: context.env });
    for (const python of options.pythons()) {
      if (python.startsWith("/") && !existsSync(python)) continue;
      try {
        return await start(python);
      } catch (error) {
        if (!isMigrateError(error) || error.code !== "TOOL_UNAVAILABLE") throw error;
      }
    }
    return start(await options.python());
  };

  return {
    async open(context): Promise<NativeSession> {
      const helper = await startHelper(context);
      try {
        const answer = await helper.request({ op: "graph" });
        if (!answer.isSuccess || !answer.graph) {
          const project = options.project();
          throw new ChildProcessError(
            `Alembic could not read the revisions of "${project.dir}": ${redact(answer.error?.message ?? "no answer")}. Fix it (a revision that does not import, a broken alembic.ini) and run again.`,
            { command: "polymigrate_alembic.py", args: ["--serve"], cwd: project.dir, exitCode: null, stderrTail: redact(answer.stderr ?? "") },
          );
        }
        options.verify(answer.graph);
      } catch (error) {
        await helper.close();
        throw error;
      }
      return {
        async run(step) {
          const startedAt = performance.now();
          let response: HelperResponse;
          try {
            response = await helper.request(toHelperRequest(step));
          } catch (error) {
            return lostHelper(error, step.migration, startedAt);
          }
          const others = (response.ran ?? []).filter((id) => id !== step.migration.id);
          if (others.length > 0) {
            // Alembic ran more than this revision (a dependency the graph did not show): say so rather than hide it.
            context.emit({
              type: "notice",
              project: context.project,
              level: "warning",
              message: `Alembic also ran ${others.map((id) => `"${id}"`).join(", ")} for "${step.migration.id}".`,
            });
          }
          return toStepResult(response, step.migration);
        },
        interrupt: () => helper.interrupt(),
        close: () => helper.close(),
      };
    },

    async renderSql(migrations, context) {
      const rendered: Record<string, string> = {};
      const first = migrations[0];
      const last = migrations[migrations.length - 1];
      if (!first || !last) return rendered;
      const helper = await startHelper(context);
      try {
        // Offline mode takes one starting revision: a chain renders in one pass from the first one's parent; what
        // does not (a branch, a revision that cannot run offline) renders revision by revision.
        if (isChain(migrations)) {
          const answer = await helper.request({ op: "render", from: offlineStart(first), to: last.id });
          if (answer.isSuccess) return splitOfflineSql(answer.sql ?? "");
        }
        for (const migration of migrations) {
          const answer = await helper.request({ op: "render", from: offlineStart(migration), to: migration.id });
          const sql = answer.isSuccess ? splitOfflineSql(answer.sql ?? "")[migration.id] : undefined;
          if (sql !== undefined) {
            rendered[migration.id] = sql;
            continue;
          }
          context.emit({
            type: "notice",
            project: context.project,
            level: "warning",
            message: `Alembic could not render the SQL of "${migration.id}" in offline mode (alembic upgrade --sql): ${redact(answer.error?.message ?? "it printed no SQL for it")}. It is not linted nor shown by "migrate plan"; make it work offline (or guard its online-only code with context.is_offline_mode()) to have it checked.`,
          });
        }
        return rendered;
      } finally {
        await helper.close();
      }
    },
  };
}

// Whether each migration's one parent is the one before it (the first may start anywhere).
function isChain(migrations: Migration[]): boolean {
  return migrations.every((migration, index) => {
    const parents = (migration.meta?.downRevisions as string[] | undefined) ?? [];
    return index === 0 ? parents.length <= 1 : parents.length === 1 && parents[0] === migrations[index - 1]?.id;
  });
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
