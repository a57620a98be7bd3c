import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What a `migrate` run printed and returned. */
export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  cwd: string;
  /** Variables added to a clean environment (PATH and HOME are kept; DIRECT_URL and DATABASE_URL are not inherited). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/**
 * The built `migrate` executable of this repository. Found by path, not imported: the CLI's tests depend on this
 * package, so it cannot depend on the CLI.
 */
export function migrateBin(): string {
  return fileURLToPath(new URL("../../cli/dist/bin.js", import.meta.url));
}

/** Spawns the built `migrate` with `args`, as a user would, and collects its output and exit code. */
export function runCli(args: string[], options: RunCliOptions): Promise<CliResult> {
  return startCli(args, options).result;
}

/** A `migrate` still running: its process (to signal or kill) and what it will have printed and returned. */
export interface RunningCli {
  child: ChildProcess;
  result: Promise<CliResult>;
}

/** The clean environment `runCli` gives the CLI: PATH, HOME, LANG and TMPDIR, plus `env`. */
export function cliEnvironment(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "LANG", "TMPDIR"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

/** Starts the built `migrate` with `args` and returns at once, for tests that signal or kill it mid-run. */
export function startCli(args: string[], options: RunCliOptions): RunningCli {
  const child = spawn(process.execPath, [migrateBin(), ...args], { cwd: options.cwd, env: cliEnvironment(options.env), stdio: ["ignore", "pipe", "pipe"] });
  return { child, result: collectOutput(child, options.timeoutMs ?? 60_000) };
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = "a condition"): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Collects a child's stdout, stderr and exit code; kills it after `timeoutMs`. */
export function collectOutput(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, exitCode: code ?? -1 });
    });
  });
}
