import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { collectOutput, type CliResult } from "./cli.js";

/** One command of a README, and what it did. */
export interface ReadmeCommandResult extends CliResult {
  command: string;
}

const REPOSITORY_BIN = fileURLToPath(new URL("../../../node_modules/.bin", import.meta.url));

/** The commands of a README's ```bash blocks, one per line (comments and blank lines left out). */
export function readReadmeCommands(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const commands: string[] = [];
  for (const block of text.matchAll(/```bash\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? "").split("\n")) {
      const command = line.replace(/\s+#.*$/, "").trim();
      if (command && !command.startsWith("#")) commands.push(command);
    }
  }
  return commands;
}

/**
 * Runs each command of a README's ```bash blocks in order, as a reader would type them (through bash, with the
 * repository's pnpm on PATH), and stops at the first that fails. The documentation cannot rot.
 */
export async function runReadmeCommands(
  file: string,
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<ReadmeCommandResult[]> {
  const results: ReadmeCommandResult[] = [];
  for (const command of readReadmeCommands(file)) {
    const result = await runShell(command, options);
    results.push({ command, ...result });
    if (result.exitCode !== 0) break;
  }
  return results;
}

function runShell(command: string, options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const key of ["HOME", "LANG", "TMPDIR"]) if (process.env[key]) env[key] = process.env[key] as string;
  env.PATH = `${REPOSITORY_BIN}:${process.env.PATH ?? ""}`;
  Object.assign(env, options.env);
  const child = spawn("bash", ["-e", "-o", "pipefail", "-c", command], { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  return collectOutput(child, options.timeoutMs ?? 120_000);
}
