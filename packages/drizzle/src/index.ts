// The Drizzle adapter of Polymigrate: a Drizzle Kit project driven by the core's engine, in agreement with drizzle-kit.
import { resolve } from "node:path";
import { MigrateError, filePolicyOf, parseStackSettings, type AdapterFactory, type AdapterOptions, type MigrationFilePolicy, type StackAdapter } from "@polymigrate/core";
import { z } from "zod";
import { findDrizzleConfig, loadDrizzleConfig, type DrizzleProjectConfig } from "./drizzle-config.js";
import { createDrizzleHistory } from "./drizzle-history.js";
import { readDrizzleMigrations } from "./drizzle-layout.js";
import { readLastCreatedAt, reviewDrizzlePlan } from "./drizzle-checks.js";
import { createDrizzleMigration, draftDrizzleDown, type WriteDownHook } from "./drizzle-create.js";
import { pushDrizzleSchema } from "./drizzle-push.js";

export * from "./drizzle-config.js";
export * from "./drizzle-layout.js";
export * from "./drizzle-history.js";
export * from "./drizzle-checks.js";
export * from "./drizzle-create.js";
export * from "./drizzle-push.js";

/** Settings of a Drizzle project in `migrate.config.*`. */
export interface DrizzleStackSettings {
  /** The drizzle-kit configuration, relative to the project folder; default: `drizzle.config.{ts,js,json,...}` there. */
  config?: string;
}

/** The schema of a Drizzle project's `settings`: checked before any work, published in migrate.schema.json. */
export const drizzleSettingsSchema: z.ZodType<DrizzleStackSettings> = z.strictObject({
  config: z.string().min(1).optional().meta({ description: "The drizzle-kit configuration, relative to the project folder; default drizzle.config.* there." }),
});

/** Options of {@link createDrizzleAdapter}. */
export interface DrizzleAdapterOptions extends AdapterOptions {
  settings?: DrizzleStackSettings & Record<string, unknown>;
  /** Writes the down file after `create`; default {@link draftDrizzleDown}; `false` writes none. */
  writeDown?: WriteDownHook | false;
}

/** Builds the adapter from an already loaded configuration. */
export function createDrizzleAdapterFromConfig(
  dir: string,
  config: DrizzleProjectConfig,
  options: { writeDown?: WriteDownHook } & MigrationFilePolicy = {},
): StackAdapter {
  const readMigrations = async () => readDrizzleMigrations(config.out, { root: dir, ...filePolicyOf(options) });
  const location = { schema: config.migrationsSchema, table: config.migrationsTable };
  const historyTable = `${location.schema}.${location.table}`;
  return {
    stack: "drizzle",
    dir,
    // Downs are `<tag>.down.sql` files beside the journal's files (drizzle-kit never reads them); without one, `down`
    // refuses and names the migration.
    capabilities: { rollback: "down-files", execution: "sql", canCreate: true },
    history: createDrizzleHistory({ location, readMigrations }),
    readMigrations,
    downFileOf: (migration) => migration.file.replace(/\.sql$/, ".down.sql"),
    createMigration: (create) =>
      createDrizzleMigration({ ...create, dir, config, ...(options.writeDown ? { writeDown: options.writeDown } : {}) }),
    pushSchema: (push) => pushDrizzleSchema({ ...push, dir, config }),
    async reviewPlan(plan, db) {
      return reviewDrizzlePlan(plan, await readLastCreatedAt(db, location), config.out, historyTable);
    },
  };
}

/**
 * Builds the Drizzle adapter for the project in `options.dir`: reads its `drizzle.config.*` (TypeScript included,
 * without running the application) for the migrations folder and the history table.
 *
 * @example
 * const adapter = await createDrizzleAdapter({ dir: "examples/drizzle-app" });
 * const migrations = await adapter.readMigrations();
 */
export async function createDrizzleAdapter(options: DrizzleAdapterOptions): Promise<StackAdapter> {
  const dir = resolve(options.dir);
  const configured = parseStackSettings(drizzleSettingsSchema, options.settings, "drizzle").config;
  const file = configured ? resolve(dir, configured) : findDrizzleConfig(dir);
  if (!file) {
    throw new MigrateError(
      "CONFIG_NOT_FOUND",
      `No drizzle.config.* in "${dir}". Create one (drizzle-kit's configuration), or set the project's "settings.config" to its path.`,
      { details: { dir } },
    );
  }
  const config = await loadDrizzleConfig(file, dir);
  const writeDown = options.writeDown === undefined ? draftDrizzleDown : options.writeDown;
  return createDrizzleAdapterFromConfig(dir, config, { ...filePolicyOf(options), ...(writeDown ? { writeDown } : {}) });
}

/** The Drizzle stack's factory: detected by a `drizzle.config.*` in the folder. */
export const drizzleStack: AdapterFactory = {
  stack: "drizzle",
  detect(folder) {
    return findDrizzleConfig(folder) ? { dir: folder } : undefined;
  },
  create: (options) => createDrizzleAdapter(options),
  settingsSchema: drizzleSettingsSchema,
};
