import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { ChildProcessError, MigrateError, redact } from "@polymigrate/core";
import type { AlembicProject } from "./alembic-layout.js";

/** How to run the project's Alembic. */
export interface AlembicToolSettings {
  /** The Python interpreter to run Alembic with (`<python> -m alembic`). */
  python?: string;
  /** An `alembic` executable to run instead of `<python> -m alembic`. */
  alembic?: string;
  /** The variable the project's env.py reads the URL from; default `DIRECT_URL`. */
  urlEnv?: string;
}

/** The command line prefix that runs Alembic, and the Python that can import it (for the helper). */
export interface AlembicTool {
  command: string;
  /** Arguments before Alembic's own (`-m alembic` for an interpreter). */
  prefix: string[];
}

/** What one Alembic run printed and returned. */
export interface AlembicRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runAlembic}. */
export interface RunAlembicOptions {
  /** The database URL, passed in the child's environment only. */
  url?: string;
  env?: Record<string, string>;
  /** Called for each line of stderr as it arrives (Alembic logs there). */
  onStderrLine?: (line: string) => void;
}

// Checks that `python` runs and can import Alembic; the reason it cannot, otherwise.
async function whyNotUsable(python: string, cwd: string): Promise<string | undefined> {
  // `import alembic` alone is not enough: in the project folder, its `alembic/` scripts folder imports as a namespace
  // package when the interpreter has no Alembic.
  const result = await execa(python, ["-c", "import alembic.config, alembic.command"], { cwd, reject: false, timeout: 30_000 });
  if (result.exitCode === 0) return undefined;
  if ((result as { code?: string }).code === "ENOENT" || /ENOENT/.test(String(result.message ?? ""))) return "not found";
  return "cannot import Alembic";
}

/**
 * The Python that runs the project's Alembic: the `python` setting; else the project's virtualenv (`.venv/bin/python`,
 * `venv/bin/python`); else `python3` on PATH, then `/usr/bin/python3` (Debian's `alembic` package installs there). Each
 * must be able to `import alembic`. Throws `TOOL_UNAVAILABLE` naming what was tried.
 */
export async function findPython(dir: string, settings: AlembicToolSettings): Promise<string> {
  const tried: string[] = [];
  if (settings.python) {
    const reason = await whyNotUsable(settings.python, dir);
    if (reason === undefined) return settings.python;
    throw new MigrateError(
      "TOOL_UNAVAILABLE",
      `The configured Python "${settings.python}" ${reason === "not found" ? "was not found" : "cannot import Alembic"}. Install Alembic into it (${installHint()}), or fix the project's "python" setting.`,
      { details: { python: settings.python, reason } },
    );
  }
  for (const candidate of pythonCandidates(dir, {})) {
    if (candidate.startsWith("/") && !existsSync(candidate)) {
      tried.push(`"${candidate}" (not found)`);
      continue;
    }
    const reason = await whyNotUsable(candidate, dir);
    if (reason === undefined) return candidate;
    tried.push(`"${candidate}" (${reason})`);
  }
  throw new MigrateError(
    "TOOL_UNAVAILABLE",
    `No Python that can import Alembic was found for "${dir}": tried ${tried.join(", ")}. Install Alembic (${installHint()}), or set the project's "python" (or "alembic") setting.`,
    { details: { tried } },
  );
}

/**
 * The Pythons {@link findPython} tries, in order: the `python` setting alone when set; else the project's virtualenv
 * (`.venv/bin/python`, `venv/bin/python`), `python3` on PATH, then `/usr/bin/python3` (those with a path only when
 * they exist).
 */
export function pythonCandidates(dir: string, settings: AlembicToolSettings): string[] {
  if (settings.python) return [settings.python];
  return [join(dir, ".venv/bin/python"), join(dir, "venv/bin/python"), "python3", "/usr/bin/python3"];
}

function installHint(): string {
  return `"pip install alembic psycopg2-binary" in the project's virtualenv, or "apt-get install -y alembic python3-psycopg2" on Debian`;
}

/** How to run Alembic for the project: the `alembic` setting as it is, else `<python> -m alembic`. */
export async function findAlembic(dir: string, settings: AlembicToolSettings): Promise<AlembicTool> {
  if (settings.alembic) return { command: settings.alembic, prefix: [] };
  return { command: await findPython(dir, settings), prefix: ["-m", "alembic"] };
}

// A traceback frame inside Python's or a library's own files (not the project's env.py or revisions).
const LIBRARY_FRAME = /^\s*File "[^"]*(?:site-packages|dist-packages|\/lib\/python\d[^/]*\/|<frozen )/;

/**
 * The end of Alembic's stderr, for reports: its last log lines and the traceback without the frames inside Python's
 * and the libraries' own files, so that what is left is the project's own frames and the error.
 */
export function tailOf(text: string, lines = 30): string {
  const kept: string[] = [];
  let isSkippingFrame = false;
  for (const line of text.trimEnd().split(/\r?\n/)) {
    if (LIBRARY_FRAME.test(line)) {
      isSkippingFrame = true;
      continue;
    }
    // A frame's source line and its ^^^ markers are indented deeper than "  File".
    if (isSkippingFrame && /^ {4}/.test(line)) continue;
    isSkippingFrame = false;
    kept.push(line);
  }
  return redact(kept.slice(-lines).join("\n"));
}

/**
 * Runs Alembic with `args` in the project's folder, without a shell; the URL goes into the child's environment under
 * the project's variable (`DIRECT_URL`), never on its command line. Resolves with the exit code, never rejects for a
 * non-zero exit; a command that cannot start at all is `TOOL_UNAVAILABLE`.
 */
export async function runAlembic(
  tool: AlembicTool,
  project: AlembicProject,
  urlEnv: string,
  args: string[],
  options: RunAlembicOptions = {},
): Promise<AlembicRunResult> {
  const fullArgs = [...tool.prefix, "-c", project.iniFile, "-n", project.section, ...args];
  const env: Record<string, string> = { ...options.env, PYTHONUNBUFFERED: "1" };
  if (options.url !== undefined) env[urlEnv] = options.url;
  const child = execa(tool.command, fullArgs, { cwd: project.dir, env, reject: false, stdin: "ignore", buffer: true });
  let pending = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? "";
    for (const line of lines) options.onStderrLine?.(line);
  });
  const result = await child;
  if (pending) options.onStderrLine?.(pending);
  const failedToStart = (result as { code?: string }).code === "ENOENT" || (result.exitCode === undefined && result.failed);
  if (failedToStart) {
    throw new MigrateError(
      "TOOL_UNAVAILABLE",
      `Could not start "${tool.command}" to run Alembic: ${redact(result.shortMessage ?? "it was not found")}. Install Alembic (${installHint()}), or fix the project's "alembic"/"python" setting.`,
      { details: { command: tool.command } },
    );
  }
  return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? "") };
}

/** The line of stderr that says what went wrong (a Python exception's last line), redacted. */
export function lastErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  const exception = [...lines].reverse().find((line) => /^[\w.]+(Error|Exception|Exit)\b/.test(line));
  return redact(exception ?? lines[lines.length - 1] ?? `exit code ${stderr ? "non-zero" : "without output"}`);
}

/** Throws {@link ChildProcessError} for a failed Alembic run that is not a migration failure (create, offline SQL). */
export function failedRun(message: string, tool: AlembicTool, project: AlembicProject, args: string[], result: AlembicRunResult): ChildProcessError {
  return new ChildProcessError(
    message.replace("{error}", lastErrorLine(result.stderr)),
    {
      command: tool.command,
      args: [...tool.prefix, "-c", project.iniFile, "-n", project.section, ...args],
      cwd: project.dir,
      exitCode: result.exitCode,
      stderrTail: tailOf(result.stderr),
    },
  );
}
