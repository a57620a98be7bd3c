import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { ChildProcessError } from "../model/errors.js";

/**
 * Squawk's timeout rules (together `require-timeout-settings`); off by default, because the runner sets lock_timeout
 * and statement_timeout on each migration's session itself.
 */
export const SQUAWK_TIMEOUT_RULES = ["require-lock-timeout", "require-statement-timeout"] as const;

/** One finding as Squawk's JSON reporter prints it (lines and columns are 0-based). */
export interface SquawkViolation {
  file: string;
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

/** Options of {@link runSquawk}. */
export interface RunSquawkOptions {
  /** The folder `files` are relative to. */
  cwd: string;
  /** `server_version_num` of the target server, passed on as `--pg-version`. */
  serverVersionNum?: number;
  exclude?: readonly string[];
  include?: readonly string[];
  /** Squawk's `--assume-in-transaction`: the migration tool wraps each file in a transaction. */
  assumeInTransaction?: boolean;
}

/**
 * The path of Squawk's binary for this platform (from the optional dependency `@squawk-cli/<platform>-<arch>` of
 * `squawk-cli`), or `undefined` when it is not installed. `POLYMIGRATE_SQUAWK` overrides it (a path, or `none`).
 */
export function findSquawkBinary(env: Record<string, string | undefined> = process.env): string | undefined {
  const override = env.POLYMIGRATE_SQUAWK;
  if (override !== undefined && override !== "") return override === "none" || !existsSync(override) ? undefined : override;
  try {
    const require = createRequire(import.meta.url);
    const squawkRequire = createRequire(require.resolve("squawk-cli/package.json"));
    const binary = process.platform === "win32" ? "squawk.exe" : "squawk";
    return squawkRequire.resolve(`@squawk-cli/${process.platform}-${process.arch}/bin/${binary}`);
  } catch {
    return undefined;
  }
}

/** `150004` as Squawk's `--pg-version` (`15.4`); `90624` as `9.6.24`. */
export function formatPgVersion(serverVersionNum: number): string {
  if (serverVersionNum >= 100000) return `${Math.floor(serverVersionNum / 10000)}.${serverVersionNum % 10000}`;
  return `${Math.floor(serverVersionNum / 10000)}.${Math.floor(serverVersionNum / 100) % 100}.${serverVersionNum % 100}`;
}

/**
 * Runs Squawk once over `files` with its JSON reporter and returns its findings. Squawk exits 1 when it finds
 * something; any other failure is a {@link ChildProcessError}.
 */
export async function runSquawk(binary: string, files: string[], options: RunSquawkOptions): Promise<SquawkViolation[]> {
  if (files.length === 0) return [];
  const args = ["--reporter", "json"];
  if (options.serverVersionNum) args.push("--pg-version", formatPgVersion(options.serverVersionNum));
  if (options.exclude && options.exclude.length > 0) args.push(`--exclude=${options.exclude.join(",")}`);
  if (options.include && options.include.length > 0) args.push(`--include=${options.include.join(",")}`);
  args.push(options.assumeInTransaction ? "--assume-in-transaction" : "--no-assume-in-transaction");
  // Squawk reads a .squawk.toml from the folder it runs in; the temporary folder has none, so these flags are the
  // whole configuration.
  // execa is loaded on first use: every command imports the core, few run Squawk.
  const { execa } = await import("execa");
  const result = await execa(binary, [...args, "--", ...files], { cwd: options.cwd, reject: false, stripFinalNewline: true });
  const stdout = String(result.stdout ?? "");
  if ((result.exitCode === 0 || result.exitCode === 1) && stdout.trim().startsWith("[")) {
    return JSON.parse(stdout) as SquawkViolation[];
  }
  if (result.exitCode === 0 && stdout.trim() === "") return [];
  throw new ChildProcessError(
    `Squawk failed (exit code ${String(result.exitCode)}): ${String(result.stderr ?? "").trim().split("\n")[0] || "no output"}. Check the rule names in the lint settings ("lint.include"), or disable Squawk with POLYMIGRATE_SQUAWK=none.`,
    {
      command: binary,
      args,
      cwd: options.cwd,
      exitCode: result.exitCode ?? null,
      stderrTail: String(result.stderr ?? "").slice(-2000),
    },
  );
}
