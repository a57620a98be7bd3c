import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { ChildProcessError, MigrateError, redact, type MigrationFailure } from "@polymigrate/core";
import { lastErrorLine, tailOf } from "./alembic-command.js";
import { helperScript, type AlembicInspection } from "./alembic-inspect.js";
import type { AlembicProject } from "./alembic-layout.js";

/** A request of the helper's `--serve` protocol (one JSON line on its stdin). */
export type HelperRequest =
  | { op: "graph" }
  | { op: "upgrade"; revision: string; recordStartedSql: string; guardSql: string }
  | { op: "downgrade"; target: string; revision: string; recordStartedSql: string; guardSql: string }
  | { op: "render"; from: string; to: string };

/** What the helper says went wrong, as its Python side found it (the SQLSTATE is psycopg2's `pgcode`). */
export interface HelperFailure {
  message: string;
  sqlState?: string;
  detail?: string;
  hint?: string;
  statement?: string;
  /** The line of the revision's file the traceback went through last. */
  line?: number;
  /** Set when the run's guard SQL failed (the run lost its lock), not the revision. */
  isGuard?: boolean;
  /**
   * Statements that may have landed before the failure (committed, or run in autocommit mode); counted high when in
   * doubt. 0 means nothing of the revision stayed applied.
   */
  statementsApplied?: number;
}

/** One answer of the helper (one JSON line on its stdout). */
export interface HelperResponse {
  isSuccess: boolean;
  durationMs?: number;
  /** False when a statement ran in autocommit mode (an Alembic `autocommit_block`). */
  transactional?: boolean;
  isInterrupted?: boolean;
  /** The revisions Alembic ran for the request. */
  ran?: string[];
  error?: HelperFailure;
  /** The request's own stderr (Alembic's log and the traceback), on failure only. */
  stderr?: string;
  graph?: AlembicInspection;
  sql?: string;
}

/** Parses one line of the helper's stdout; throws when it is not one of its answers. */
export function parseHelperResponse(line: string): HelperResponse {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new MigrateError("CHILD_PROCESS_FAILED", `The Alembic helper printed "${redact(line.slice(0, 200))}", not a JSON answer. Report it as a bug of @polymigrate/alembic.`, { cause });
  }
  if (typeof value !== "object" || value === null || typeof (value as { isSuccess?: unknown }).isSuccess !== "boolean") {
    throw new MigrateError("CHILD_PROCESS_FAILED", `The Alembic helper answered "${redact(line.slice(0, 200))}", without "isSuccess". Report it as a bug of @polymigrate/alembic.`);
  }
  return value as HelperResponse;
}

/** A step's failure for the report: the helper's error, redacted, with the revision's file and line. */
export function toMigrationFailure(response: HelperResponse, file: string | undefined): MigrationFailure {
  const error = response.error ?? { message: "Alembic failed without a message" };
  return {
    message: redact(error.message),
    ...(error.sqlState ? { sqlState: error.sqlState } : {}),
    ...(error.statement ? { statement: redact(error.statement) } : {}),
    ...(error.detail ? { detail: redact(error.detail) } : {}),
    ...(error.hint ? { hint: redact(error.hint) } : {}),
    ...(file ? { file } : {}),
    ...(error.line === undefined ? {} : { line: error.line }),
    ...(response.stderr ? { stderrTail: tailOf(response.stderr) } : {}),
    // Only a revision that ran in part outside a transaction can leave statements applied after a failure.
    ...(response.transactional === false && error.statementsApplied !== undefined ? { statementsApplied: error.statementsApplied } : {}),
  };
}

/** Options of {@link startAlembicHelper}. */
export interface AlembicHelperOptions {
  python: string;
  project: AlembicProject;
  /** The variable env.py reads the URL from; the URL goes there, never on the command line. */
  urlEnv: string;
  url?: string;
  /** More of the child's environment (PGOPTIONS, PGAPPNAME). */
  env?: Record<string, string>;
}

/** The helper's process for one run: one request at a time. */
export interface AlembicHelper {
  readonly pid: number;
  /** Sends one request and resolves with its answer; rejects when the helper exits first. */
  request(request: HelperRequest): Promise<HelperResponse>;
  /** Whether a request is waiting for its answer. */
  readonly isBusy: boolean;
  /** Sends SIGINT: the helper rolls back the step in progress (and ignores it between steps). */
  interrupt(): void;
  /** Closes its stdin and waits for it to exit (SIGKILL after `graceMs`); safe to call twice. */
  close(graceMs?: number): Promise<void>;
}

// The helper's exit code when its Python has no Alembic (it is then not the Python to use).
const CANNOT_IMPORT_ALEMBIC = 3;

// Bytes of the helper's stderr kept for a message when it dies unexpectedly.
const STDERR_KEPT = 32_768;

/**
 * Starts the shipped helper (`polymigrate_alembic.py --serve`) in the project's folder, and resolves once it has read
 * the project's Alembic configuration. It dies with this process: its life-line (fd 3, never written) reaches EOF when
 * this process ends however it ends, and on Linux the kernel kills it when its parent dies.
 */
export async function startAlembicHelper(options: AlembicHelperOptions): Promise<AlembicHelper> {
  const { project } = options;
  const args = [helperScript(), "--config", project.iniFile, "--name", project.section, "--serve", "--lifeline-fd", "3", "--parent-pid", String(process.pid)];
  const env: Record<string, string | undefined> = { ...process.env, ...options.env, PYTHONUNBUFFERED: "1" };
  if (options.url !== undefined) env[options.urlEnv] = options.url;
  const child = spawn(options.python, args, { cwd: project.dir, env, stdio: ["pipe", "pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT);
  });
  // The life-line is only held, never written or read: its end closes when this process dies.
  const lifeline = child.stdio[3] as NodeJS.ReadableStream & { unref?: () => void };
  lifeline.on("error", () => undefined);
  child.stdin?.on("error", () => undefined);

  const waiting: Array<{ resolve: (response: HelperResponse) => void; reject: (error: Error) => void }> = [];
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let startError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("close", (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.once("error", (error) => {
      startError = error;
      exit ??= { code: null, signal: null };
      resolve();
    });
  });
  const describeExit = (): Error => {
    if (startError && (startError as NodeJS.ErrnoException).code === "ENOENT") {
      return new MigrateError(
        "TOOL_UNAVAILABLE",
        `Could not start "${options.python}" to run Alembic: it was not found. Install Alembic, or fix the project's "python" setting.`,
        { details: { command: options.python } },
      );
    }
    if (exit?.code === CANNOT_IMPORT_ALEMBIC) {
      return new MigrateError("TOOL_UNAVAILABLE", `"${options.python}" cannot import Alembic. Install Alembic into it, or set the project's "python" setting.`, {
        details: { python: options.python, reason: "cannot import Alembic" },
      });
    }
    const how = exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${exit?.code ?? "unknown"}`;
    return new ChildProcessError(
      `The Alembic helper for "${project.iniFile}" ${how}: ${lastErrorLine(stderr)}. Fix what its output says (env.py, the Python environment), then run again.`,
      { command: options.python, args, cwd: project.dir, exitCode: exit?.code ?? null, stderrTail: tailOf(stderr) },
      startError,
    );
  };
  void exited.then(() => {
    const error = describeExit();
    for (const waiter of waiting.splice(0)) waiter.reject(error);
  });
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    const waiter = waiting.shift();
    if (!waiter) return;
    try {
      waiter.resolve(parseHelperResponse(line));
    } catch (error) {
      waiter.reject(error as Error);
    }
  });
  const nextAnswer = () =>
    new Promise<HelperResponse>((resolve, reject) => {
      if (exit) reject(describeExit());
      else waiting.push({ resolve, reject });
    });

  const ready = await nextAnswer().catch((error: Error) => {
    child.kill("SIGKILL");
    throw error;
  });
  if (!ready.isSuccess) {
    child.stdin?.end();
    await exited;
    throw new ChildProcessError(
      `Alembic could not read the configuration "${project.iniFile}": ${ready.error?.message ? redact(ready.error.message) : lastErrorLine(stderr)}. Fix alembic.ini or the revisions, then run again.`,
      { command: options.python, args, cwd: project.dir, exitCode: exit?.code ?? null, stderrTail: tailOf(stderr) },
    );
  }

  let closing: Promise<void> | undefined;
  return {
    pid: child.pid ?? -1,
    get isBusy() {
      return waiting.length > 0;
    },
    request(request) {
      const answer = nextAnswer();
      if (!exit) child.stdin?.write(`${JSON.stringify(request)}\n`);
      return answer;
    },
    interrupt() {
      if (!exit && waiting.length > 0) child.kill("SIGINT");
    },
    close(graceMs = 5_000) {
      closing ??= (async () => {
        if (exit) return;
        child.stdin?.end();
        const timer = setTimeout(() => killHard(child), graceMs);
        await exited;
        clearTimeout(timer);
        (lifeline as unknown as { destroy?: () => void }).destroy?.();
      })();
      return closing;
    },
  };
}

function killHard(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
