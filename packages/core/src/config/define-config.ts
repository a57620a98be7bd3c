import type { StackName } from "../model/adapter.js";
import type { LintSettings } from "../lint/lint-finding.js";
import { MigrateError } from "../model/errors.js";
import type { NeonConfig } from "../neon/neon-api.js";

/** The stacks a configuration may name. */
export const STACK_NAMES: readonly StackName[] = ["sql", "prisma", "drizzle", "alembic"];

/** One project of a configuration. */
export interface ProjectConfig {
  /** A short name, unique in the configuration (`--project <name>`). */
  name: string;
  stack: StackName;
  /** The project's folder, relative to the configuration file (for `sql`: the folder of .sql files). */
  dir: string;
  /** The variable holding the direct URL; default `DIRECT_URL`. */
  urlEnv?: string;
  /** The application's pooled URL variable; default `DATABASE_URL`. */
  pooledUrlEnv?: string;
  /** Marks this project's URL as pooled: it is then refused. */
  pooled?: boolean;
  /** Marks the project's database as production. */
  production?: boolean;
  /** Stack-specific settings, read by the project's adapter. */
  settings?: Record<string, unknown>;
  /** This project's `lock_timeout` (e.g. "5s"), over the configuration's. */
  lockTimeout?: string | number;
  /** This project's `statement_timeout` (e.g. "10m"; 0 is off), over the configuration's. */
  statementTimeout?: string | number;
  /** How many times a migration that hit lock_timeout is retried, over the configuration's. */
  retries?: number;
  /** This project's safety lint: rules to disable (`disable: ["prefer-robust-stmts"]`), Squawk rules to include. */
  lint?: LintSettings;
  /** Neon: `up --branch-first` branches the target first, `rehearse` runs on a branch (see docs/neon.md). */
  neon?: NeonConfig;
  /** Follow symbolic links from the project's migration files to places outside its folder; default false (refused). */
  allowSymlinksOutside?: boolean;
  /** The largest migration file, in bytes; default 64 MiB. A larger file is refused before anything runs. */
  maxMigrationBytes?: number;
}

/** A `migrate.config.*` file. */
export interface MigrateConfig {
  projects: ProjectConfig[];
  /** Host names that are poolers, refused like the built-in rules. */
  pooledHosts?: string[];
  /** `lock_timeout` of every migration's session; default "5s". */
  lockTimeout?: string | number;
  /** `statement_timeout` of every migration's session; default 0 (off). */
  statementTimeout?: string | number;
  /** How many times a migration that hit lock_timeout is retried; default 3. */
  retries?: number;
  /** The safety lint of every project (each project's `lint` adds to it). */
  lint?: LintSettings;
}

/**
 * Types a configuration file.
 *
 * @example
 * export default defineConfig({ projects: [{ name: "core", stack: "sql", dir: "migrations" }] });
 */
export function defineConfig(config: MigrateConfig): MigrateConfig {
  return config;
}

function invalid(file: string, message: string): MigrateError {
  return new MigrateError("CONFIG_INVALID", `${message} (in "${file}").`, { details: { file } });
}

/** Checks a loaded configuration, naming the first wrong field and what it should be. */
export function validateConfig(value: unknown, file: string): MigrateConfig {
  if (!value || typeof value !== "object") throw invalid(file, "The configuration must be an object with a \"projects\" list");
  const projects = (value as { projects?: unknown }).projects;
  if (!Array.isArray(projects) || projects.length === 0) {
    throw invalid(file, 'The configuration needs "projects": a list of { name, stack, dir }');
  }
  const names = new Set<string>();
  projects.forEach((project: unknown, index) => {
    const where = `projects[${index}]`;
    if (!project || typeof project !== "object") throw invalid(file, `${where} must be an object with name, stack and dir`);
    const { name, stack, dir, urlEnv, pooledUrlEnv, allowSymlinksOutside, maxMigrationBytes } = project as Record<string, unknown>;
    if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      throw invalid(file, `${where}.name must be a short name of letters, digits, "-", "_" or "."`);
    }
    if (names.has(name)) throw invalid(file, `Two projects are named "${name}"; give each a name of its own`);
    names.add(name);
    if (typeof stack !== "string" || !STACK_NAMES.includes(stack as StackName)) {
      throw invalid(file, `${where}.stack is ${JSON.stringify(stack)}; use one of ${STACK_NAMES.map((s) => `"${s}"`).join(", ")}`);
    }
    if (typeof dir !== "string" || dir.length === 0) throw invalid(file, `${where}.dir must be a folder, relative to the configuration file`);
    for (const [key, variable] of [["urlEnv", urlEnv], ["pooledUrlEnv", pooledUrlEnv]] as const) {
      if (variable !== undefined && (typeof variable !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable))) {
        throw invalid(file, `${where}.${key} must be the name of an environment variable, such as "DIRECT_URL", not a URL`);
      }
    }
    if (allowSymlinksOutside !== undefined && typeof allowSymlinksOutside !== "boolean") {
      throw invalid(file, `${where}.allowSymlinksOutside must be true or false`);
    }
    if (maxMigrationBytes !== undefined && (typeof maxMigrationBytes !== "number" || !Number.isSafeInteger(maxMigrationBytes) || maxMigrationBytes <= 0)) {
      throw invalid(file, `${where}.maxMigrationBytes must be a whole number of bytes above 0, such as 134217728 (128 MiB)`);
    }
  });
  return value as MigrateConfig;
}
