import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createJiti } from "jiti";
import { MigrateError, redact } from "@polymigrate/core";

/** The configuration file names drizzle-kit looks for (it tries `.ts`, then `.js`, then `.json`), plus the module variants. */
export const DRIZZLE_CONFIG_FILES = [
  "drizzle.config.ts",
  "drizzle.config.js",
  "drizzle.config.json",
  "drizzle.config.mts",
  "drizzle.config.mjs",
  "drizzle.config.cts",
  "drizzle.config.cjs",
];

/** The history table drizzle-orm's migrator uses when the configuration names none. */
export const DEFAULT_MIGRATIONS_TABLE = "__drizzle_migrations";
/** The history table's schema drizzle-orm's migrator uses when the configuration names none. */
export const DEFAULT_MIGRATIONS_SCHEMA = "drizzle";

/** What the adapter needs from a `drizzle.config.*`; credentials are never read (the URL comes from `DIRECT_URL`). */
export interface DrizzleProjectConfig {
  /** The configuration file, absolute. */
  file: string;
  /** The migrations folder (`out`, default `drizzle`), absolute: drizzle-kit resolves it from the folder it runs in. */
  out: string;
  /** `schema` as written (a path, a glob or a list), for messages. */
  schema?: string | string[];
  dialect: "postgresql";
  /** `migrations.table`, default `__drizzle_migrations`. */
  migrationsTable: string;
  /** `migrations.schema`, default `drizzle`. */
  migrationsSchema: string;
  /** `breakpoints`, default true: whether drizzle-kit writes `--> statement-breakpoint` between statements. */
  hasBreakpoints: boolean;
}

/** Finds the project's `drizzle.config.*` in `dir`, in drizzle-kit's order. */
export function findDrizzleConfig(dir: string): string | undefined {
  return DRIZZLE_CONFIG_FILES.map((name) => join(dir, name)).find((file) => existsSync(file));
}

function invalid(file: string, message: string): MigrateError {
  return new MigrateError("CONFIG_INVALID", `${message} (in "${file}").`, { details: { file } });
}

const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;

// A configuration may log while it loads (dotenv announces what it injected; a debug line may show the URL): none of
// it may reach migrate's output, whose stdout can be JSON and must never carry a URL. drizzle-kit shows it when run.
async function withoutConsole<T>(work: () => Promise<T>): Promise<T> {
  const saved = CONSOLE_METHODS.map((method) => console[method]);
  for (const method of CONSOLE_METHODS) console[method] = () => {};
  try {
    return await work();
  } finally {
    CONSOLE_METHODS.forEach((method, index) => {
      console[method] = saved[index]!;
    });
  }
}

// Loads the file's default export without running the application: jiti transpiles TypeScript in memory, as
// drizzle-kit's own loader does. Whatever the file reads from the environment (DIRECT_URL) stays in the returned
// object, which is only picked from below and never printed.
async function importConfig(file: string): Promise<unknown> {
  if (file.endsWith(".json")) {
    try {
      return JSON.parse(readFileSync(file, "utf8"));
    } catch (cause) {
      throw invalid(file, `"${basename(file)}" is not valid JSON: ${redact((cause as Error).message)}. Fix the file`);
    }
  }
  // The transpiled config is cached on disk (keyed by its content), so that only the first run pays for Babel.
  const jiti = createJiti(file, { moduleCache: false, interopDefault: true });
  try {
    return await withoutConsole(() => jiti.import(file, { default: true }));
  } catch (cause) {
    throw new MigrateError(
      "CONFIG_INVALID",
      `Could not load "${file}": ${redact((cause as Error).message ?? String(cause))}. Fix the file; it must export its configuration as default and load without DIRECT_URL being set.`,
      { details: { file } },
    );
  }
}

function optionalString(file: string, value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length === 0) throw invalid(file, `"${field}" must be a non-empty string`);
  return value;
}

/**
 * Reads a `drizzle.config.*` (TypeScript included) for `out`, `schema`, `dialect` and `migrations.table` /
 * `migrations.schema`; refuses any dialect but `postgresql`.
 *
 * @example
 * const config = await loadDrizzleConfig("/app/drizzle.config.ts", "/app");
 * config.out; // "/app/drizzle"
 */
export async function loadDrizzleConfig(file: string, projectDir: string): Promise<DrizzleProjectConfig> {
  if (!existsSync(file)) {
    throw new MigrateError("CONFIG_NOT_FOUND", `The Drizzle configuration "${file}" does not exist. Create it, or point the project's "settings.config" at it.`, {
      details: { file },
    });
  }
  const loaded = await importConfig(file);
  if (!loaded || typeof loaded !== "object") throw invalid(file, "The Drizzle configuration must export an object as default");
  const config = loaded as Record<string, unknown>;
  const dialect = config.dialect;
  if (dialect !== "postgresql") {
    throw new MigrateError(
      "STACK_UNSUPPORTED",
      `The Drizzle project "${file}" uses dialect ${JSON.stringify(dialect ?? null)}; migrate supports only "postgresql". Use drizzle-kit for this project, or set dialect: "postgresql".`,
      { details: { file, dialect: typeof dialect === "string" ? dialect : null } },
    );
  }
  const out = optionalString(file, config.out, "out") ?? "drizzle";
  const schema = config.schema;
  if (schema !== undefined && typeof schema !== "string" && !(Array.isArray(schema) && schema.every((item) => typeof item === "string"))) {
    throw invalid(file, '"schema" must be a path or a list of paths');
  }
  const migrations = config.migrations;
  if (migrations !== undefined && (migrations === null || typeof migrations !== "object")) {
    throw invalid(file, '"migrations" must be an object such as { table: "__drizzle_migrations", schema: "drizzle" }');
  }
  const { table, schema: migrationsSchema } = (migrations ?? {}) as Record<string, unknown>;
  return {
    file,
    out: resolve(projectDir, out),
    ...(schema === undefined ? {} : { schema: schema as string | string[] }),
    dialect: "postgresql",
    migrationsTable: optionalString(file, table, "migrations.table") ?? DEFAULT_MIGRATIONS_TABLE,
    migrationsSchema: optionalString(file, migrationsSchema, "migrations.schema") ?? DEFAULT_MIGRATIONS_SCHEMA,
    hasBreakpoints: config.breakpoints !== false,
  };
}
