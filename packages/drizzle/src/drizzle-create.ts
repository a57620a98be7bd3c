import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { execa } from "execa";
import {
  ChildProcessError,
  MigrateError,
  draftDownFile,
  redact,
  type CreateMigrationOptions,
  type CreateMigrationResult,
  type Migration,
} from "@polymigrate/core";
import type { DrizzleProjectConfig } from "./drizzle-config.js";
import { downFileOf, journalFileOf, readDrizzleMigrations } from "./drizzle-layout.js";
import { snapshotFileOf } from "./drizzle-checks.js";

/** Writes the down file of a migration drizzle-kit just generated and returns its path. */
export type WriteDownHook = (migration: Migration, options: { isEmpty: boolean }) => Promise<string | undefined>;

/**
 * The default {@link WriteDownHook}: `<out>/<tag>.down.sql` (a name drizzle-kit never reads) beside the new file,
 * drafted from its SQL by the core's generator (`draftDownFile`, issue 6); for an empty (`--custom`) migration, a
 * placeholder to fill in with the up. Never overwrites a file that exists.
 */
export const draftDrizzleDown: WriteDownHook = async (migration, { isEmpty }) => {
  const file = downFileOf(dirname(migration.file), migration.id);
  if (existsSync(file)) return undefined;
  const sql = isEmpty
    ? `-- Undoes ${migration.id}: write the statements that reverse it here (migrate down runs this file).\n`
    : (await draftDownFile(migration.file)).sql;
  writeFileSync(file, sql, { flag: "wx" });
  return file;
};

/** Options of {@link createDrizzleMigration}. */
export interface DrizzleCreateOptions extends CreateMigrationOptions {
  /** The project folder: drizzle-kit runs there and is resolved from there. */
  dir: string;
  config: DrizzleProjectConfig;
  /** The environment of the child; a URL it holds stays in the environment, never in the arguments. */
  env?: Record<string, string | undefined>;
  /** Writes the down beside the new migration (default: none here; the adapter passes {@link draftDrizzleDown}). */
  writeDown?: WriteDownHook;
  /** How long drizzle-kit may run; default 120 s. */
  timeoutMs?: number;
}

/** drizzle-kit's entry point, found from `dir` the way Node resolves a package (each `node_modules` upwards). */
export function resolveDrizzleKit(dir: string): { bin: string; version: string } {
  let folder = resolve(dir);
  for (;;) {
    const manifest = join(folder, "node_modules", "drizzle-kit", "package.json");
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { version: string; bin?: string | Record<string, string> };
      const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.["drizzle-kit"];
      if (bin) return { bin: join(dirname(manifest), bin), version: pkg.version };
    }
    const parent = dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  throw new MigrateError(
    "TOOL_UNAVAILABLE",
    `drizzle-kit is not installed in "${dir}" (no node_modules/drizzle-kit in it or above it). Install it in the project (pnpm add -D drizzle-kit) and run again.`,
    { details: { dir } },
  );
}

/** What drizzle-kit generate prints when the schema matches the last snapshot. */
const NO_CHANGES = /No schema changes, nothing to migrate/;

function tailOf(output: unknown): string {
  return redact(String(output ?? "")).split("\n").slice(-20).join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => `    ${line}`)
    .join("\n");
}

/** A name drizzle-kit can put in a file name: letters, digits, `_` and `-`. */
export function toMigrationName(name: string): string {
  const slug = name
    .trim()
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!slug) throw new MigrateError("USAGE", `"${name}" is not a usable migration name. Use letters and digits, e.g. "add_posts".`);
  return slug;
}

/**
 * `create <name>`: runs the project's own `drizzle-kit generate --name <name>` (through execa, no shell, with the
 * configuration's path), then picks up the journal entry and the SQL file it wrote. drizzle-kit finding no change is
 * not an error: the result says `isEmpty`.
 */
export async function createDrizzleMigration(options: DrizzleCreateOptions): Promise<CreateMigrationResult> {
  const { dir, config } = options;
  const name = toMigrationName(options.name);
  const before = new Set(readDrizzleMigrations(config.out, { root: dir }).map((migration) => migration.id));
  const { bin } = resolveDrizzleKit(dir);
  const args = [bin, "generate", "--config", config.file, "--name", name, ...(options.empty ? ["--custom"] : [])];
  // Interactive: drizzle-kit may ask whether a column was renamed; let the user answer on the terminal, with its
  // output on stderr so that --json stays clean. Otherwise its output is collected for the error message.
  const isInteractive = process.stdin.isTTY === true;
  const result = await execa(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, ...options.env },
    extendEnv: false,
    reject: false,
    timeout: options.timeoutMs ?? 120_000,
    stdin: isInteractive ? "inherit" : "ignore",
    stdout: isInteractive ? ["pipe", 2] : "pipe",
    stderr: isInteractive ? ["pipe", "inherit"] : "pipe",
    all: true,
  });
  if (result.exitCode !== 0 || result.timedOut) {
    throw new ChildProcessError(
      result.timedOut
        ? `"drizzle-kit generate" did not finish within ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s (it may be waiting for an answer about a rename). Run "drizzle-kit generate --name ${name}" in "${dir}" yourself to answer it.`
        : `"drizzle-kit generate" failed in "${dir}" (exit code ${result.exitCode}):\n${indent(tailOf(result.all))}\nFix the schema or "${config.file}", and run again.`,
      { command: "drizzle-kit", args: args.slice(1), cwd: dir, exitCode: result.exitCode ?? null, stderrTail: tailOf(result.all) },
    );
  }
  const created = readDrizzleMigrations(config.out, { root: dir }).filter((migration) => !before.has(migration.id));
  const migration = created.at(-1);
  if (!migration) {
    // drizzle-kit exits 0 even when it fails (a schema file that does not compile): only its own sentence means
    // "nothing to do"; anything else without a new journal entry is a failure.
    if (NO_CHANGES.test(String(result.all ?? ""))) return { id: name, files: [], isEmpty: true };
    throw new ChildProcessError(
      `"drizzle-kit generate" failed in "${dir}": it wrote no migration and did not say that the schema is unchanged. Its output:\n${indent(tailOf(result.all))}\nFix the schema or "${config.file}", and run again.`,
      { command: "drizzle-kit", args: args.slice(1), cwd: dir, exitCode: result.exitCode ?? null, stderrTail: tailOf(result.all) },
    );
  }
  const files = [migration.file, snapshotFileOf(config.out, migration.id), journalFileOf(config.out)].filter((file) => existsSync(file));
  const downFile = options.writeDown ? await options.writeDown(migration, { isEmpty: options.empty === true }) : undefined;
  return { id: migration.id, files: downFile ? [...files, downFile] : files };
}
