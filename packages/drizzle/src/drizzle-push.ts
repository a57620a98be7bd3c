import { execa } from "execa";
import { ChildProcessError, redact, rememberSecret, type PushSchemaOptions, type PushSchemaResult } from "@polymigrate/core";
import type { DrizzleProjectConfig } from "./drizzle-config.js";
import { resolveDrizzleKit } from "./drizzle-create.js";

/** Options of {@link pushDrizzleSchema}. */
export interface DrizzlePushOptions extends PushSchemaOptions {
  dir: string;
  config: DrizzleProjectConfig;
  timeoutMs?: number;
}

/**
 * Development only: runs the project's own `drizzle-kit push` over the direct URL, handed to drizzle-kit as
 * `DIRECT_URL` in its environment (never in its arguments), which the project's `drizzle.config.*` reads.
 */
export async function pushDrizzleSchema(options: DrizzlePushOptions): Promise<PushSchemaResult> {
  const { dir, config } = options;
  const { bin } = resolveDrizzleKit(dir);
  const args = [bin, "push", "--config", config.file, ...(options.force ? ["--force"] : [])];
  try {
    rememberSecret(new URL(options.url).password);
  } catch {
    // not a URL the WHATWG parser reads: redact() still masks the password of anything URL-shaped
  }
  const isInteractive = process.stdin.isTTY === true;
  const result = await execa(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, DIRECT_URL: options.url },
    extendEnv: false,
    reject: false,
    timeout: options.timeoutMs ?? 300_000,
    // drizzle-kit asks before a statement that may lose data (unless --force): let the user answer on a terminal.
    stdin: isInteractive ? "inherit" : "ignore",
    stdout: isInteractive ? ["pipe", 2] : "pipe",
    stderr: isInteractive ? ["pipe", "inherit"] : "pipe",
    all: true,
  });
  const output = redact(String(result.all ?? ""))
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, "")
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .join("\n");
  if (result.exitCode !== 0 || result.timedOut || !/Changes applied|No changes detected/.test(output)) {
    throw new ChildProcessError(
      `"drizzle-kit push" did not apply the schema of "${config.file}"${result.timedOut ? " in time (it may be waiting for an answer: run it on a terminal, or pass --force)" : ""}:\n${output
        .split("\n")
        .slice(-15)
        .map((line) => `    ${line}`)
        .join("\n")}\nCheck the database is reachable and the schema compiles, then run "migrate push" again.`,
      { command: "drizzle-kit", args: args.slice(1), cwd: dir, exitCode: result.exitCode ?? null, stderrTail: output.split("\n").slice(-20).join("\n") },
    );
  }
  return { output };
}
