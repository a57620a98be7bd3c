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
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "LANG", "TMPDIR"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const child = spawn(process.execPath, [migrateBin(), ...args], { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child, options.timeoutMs ?? 60_000);
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
