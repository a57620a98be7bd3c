import type { StackName } from "../model/adapter.js";
import type { LintSettings } from "../lint/lint-finding.js";
import type { NeonConfig } from "../neon/neon-api.js";

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
  /** This project's `lock_timeout` (e.g. "5s"; a bare number is seconds), over the configuration's. */
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
  /** The JSON Schema of the file, for editors: `./node_modules/@polymigrate/cli/migrate.schema.json`. */
  $schema?: string;
  projects: ProjectConfig[];
  /** Host names that are poolers, refused like the built-in rules. */
  pooledHosts?: string[];
  /** `lock_timeout` of every migration's session; default "5s" (a bare number is seconds, as for `--lock-timeout`). */
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
