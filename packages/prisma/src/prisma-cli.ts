import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { parseEnv } from "node:util";
import { execa } from "execa";
import { ChildProcessError, MigrateError, redact } from "@polymigrate/core";

/** The project's own Prisma CLI: its entry script and version. */
export interface PrismaCli {
  /** The JavaScript entry of the `prisma` bin, run with this Node (never through a shell or a shim). */
  entry: string;
  version: string;
  major: number;
}

/** What a Prisma command printed. */
export interface PrismaRunResult {
  stdout: string;
  stderr: string;
}

/** Options of {@link runPrisma}. */
export interface RunPrismaOptions {
  /** The project folder: the working directory, where `prisma.config.ts` and `node_modules` are. */
  cwd: string;
  /** Variables for the child, over the inherited environment; database URLs travel only this way. */
  env?: Record<string, string | undefined>;
  /** Default 120 s. */
  timeoutMs?: number;
}

/**
 * Finds the `prisma` package the project itself depends on (resolved from the project folder, as its
 * `node_modules/.bin/prisma` would be).
 */
export function findPrismaCli(dir: string): PrismaCli {
  const require = createRequire(join(resolve(dir), "package.json"));
  let packageFile: string;
  try {
    packageFile = require.resolve("prisma/package.json");
  } catch (cause) {
    throw new MigrateError(
      "TOOL_UNAVAILABLE",
      `The Prisma CLI is not installed in "${dir}": the package "prisma" cannot be found from there. Install it in the project (for example pnpm add -D prisma@6.19.3) and run again.`,
      { details: { dir }, cause },
    );
  }
  const json = JSON.parse(readFileSync(packageFile, "utf8")) as { version: string; bin?: string | Record<string, string> };
  const bin = typeof json.bin === "string" ? json.bin : json.bin?.prisma ?? "build/index.js";
  return { entry: join(dirname(packageFile), bin), version: json.version, major: Number(json.version.split(".")[0]) };
}

/** Reads a `.env` file into variables; nothing when it does not exist. */
export function readDotEnv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  return parseEnv(readFileSync(file, "utf8")) as Record<string, string>;
}

// The messages of a Prisma that cannot get its native engine (no binary, no network to binaries.prisma.sh).
const ENGINE_UNAVAILABLE = [
  /getaddrinfo (ENOTFOUND|EAI_AGAIN)/,
  /binaries\.prisma\.sh/,
  /Could not find .*binary/i,
  /schema-engine-[a-z0-9.-]+[\s\S]*(could not be found|not found|ENOENT)/i,
  /ENOENT.*(schema-engine|query[-_]engine)/i,
];
const DATABASE_UNREACHABLE = [/Can't reach database server/i, /Please make sure your database server is running/i, /ECONNREFUSED/];
const DATABASE_DENIED = [/denied access on the database/i, /Authentication failed/i, /password authentication failed/i];

function tail(text: string, lines = 20): string {
  return redact(text.trim().split("\n").slice(-lines).join("\n"));
}

/**
 * Turns a failed Prisma command into a MigrateError that says what went wrong and what to do, instead of passing
 * Prisma's raw output through: no engine (TOOL_UNAVAILABLE), no database (CONNECTION_FAILED), else a
 * ChildProcessError with the tail of its output.
 */
export function describePrismaFailure(
  cli: PrismaCli,
  args: string[],
  cwd: string,
  result: { exitCode: number | undefined | null; stdout: string; stderr: string; timedOut?: boolean },
): MigrateError {
  const output = `${result.stderr}\n${result.stdout}`;
  const command = `prisma ${args.slice(0, 2).join(" ")}`;
  const details = { command: "prisma", args, cwd, exitCode: result.exitCode ?? null, stderrTail: tail(output) };
  if (ENGINE_UNAVAILABLE.some((pattern) => pattern.test(output))) {
    const advice =
      cli.major >= 7
        ? `Prisma ${cli.version} has no engine that runs without that download. Use prisma@6.19.3 with its WebAssembly schema engine, or copy the engine files to this machine and point PRISMA_SCHEMA_ENGINE_BINARY at them.`
        : `Prisma ${cli.version} can run without it on its WebAssembly schema engine: in prisma.config.ts use defineDirectPrismaConfig() from @polymigrate/prisma (experimental.adapter, engine "js", a PrismaPg adapter), set engineType = "client" in the schema's generator block, and make sure every variable the datasource block reads with env() is set. Otherwise copy the engine files to this machine and point PRISMA_SCHEMA_ENGINE_BINARY / PRISMA_QUERY_ENGINE_LIBRARY at them.`;
    return new MigrateError(
      "TOOL_UNAVAILABLE",
      `"${command}" cannot run here: Prisma needs its native engine binary, which it downloads from binaries.prisma.sh, and that download is not possible (no network, or no binary for this platform). ${advice}`,
      { details },
    );
  }
  if (DATABASE_UNREACHABLE.some((pattern) => pattern.test(output)) || DATABASE_DENIED.some((pattern) => pattern.test(output))) {
    return new MigrateError(
      "CONNECTION_FAILED",
      `"${command}" could not connect to the database: on Prisma 6's WebAssembly engine even a diff between two schema files opens a connection through the adapter in prisma.config.ts. Set DIRECT_URL (or the variable your prisma.config.ts reads) to a reachable database and run again.`,
      { details },
    );
  }
  const reason = result.timedOut ? "timed out" : `exited with code ${result.exitCode ?? "unknown"}`;
  return new ChildProcessError(
    `"${command}" ${reason} in "${cwd}":\n${tail(output, 12)}\nFix the problem Prisma reports, then run again.`,
    details,
  );
}

/**
 * Runs the project's Prisma CLI with `args` (an array, never a shell), URLs only in the environment; returns its
 * output, or throws the error {@link describePrismaFailure} words.
 */
export async function runPrisma(cli: PrismaCli, args: string[], options: RunPrismaOptions): Promise<PrismaRunResult> {
  const env: Record<string, string> = { CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1", NO_COLOR: "1" };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const result = await execa(process.execPath, [cli.entry, ...args], {
    cwd: options.cwd,
    env,
    extendEnv: true,
    reject: false,
    stdin: "ignore",
    timeout: options.timeoutMs ?? 120_000,
    stripFinalNewline: false,
  });
  if (result.exitCode !== 0 || result.failed) {
    throw describePrismaFailure(cli, args, options.cwd, {
      exitCode: result.exitCode,
      stdout: String(result.stdout ?? ""),
      stderr: String(result.stderr ?? ""),
      timedOut: result.timedOut,
    });
  }
  return { stdout: String(result.stdout ?? ""), stderr: String(result.stderr ?? "") };
}
