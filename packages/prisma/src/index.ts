// The public surface of @polymigrate/prisma: the stack adapter, its parts, and the prisma.config.ts helper.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { envNameSchema, filePolicyOf, parseStackSettings, type AdapterFactory, type AdapterOptions, type StackAdapter } from "@polymigrate/core";
import { z } from "zod";
import { createPrismaMigration } from "./prisma-create.js";
import { createPrismaHistory } from "./prisma-history.js";
import { DOWN_FILE, findPrismaConfig, readPrismaMigrations, resolvePrismaLayout } from "./prisma-layout.js";

/** Settings of a Prisma project in `migrate.config.ts`. */
export interface PrismaStackSettings {
  /** The Prisma schema file or folder, relative to the project; default from prisma.config.ts, package.json, or `prisma/schema.prisma`. */
  schemaPath?: string;
  /** The migrations folder, relative to the project; default `migrations/` beside the schema. */
  migrationsPath?: string;
  /** The PostgreSQL schema holding `_prisma_migrations` (the URL's `?schema=`); default `public`. */
  historySchema?: string;
  /** The variable holding the direct URL that `create` hands to Prisma's CLI; default `DIRECT_URL`. */
  urlEnv?: string;
}

/** The schema of a Prisma project's `settings`: checked before any work, published in migrate.schema.json. */
export const prismaSettingsSchema: z.ZodType<PrismaStackSettings> = z.strictObject({
  schemaPath: z.string().min(1).optional().meta({ description: "The Prisma schema file or folder, relative to the project." }),
  migrationsPath: z.string().min(1).optional().meta({ description: "The migrations folder, relative to the project; default migrations/ beside the schema." }),
  historySchema: z.string().min(1).optional().meta({ description: "The PostgreSQL schema holding _prisma_migrations; default public." }),
  urlEnv: envNameSchema.optional().meta({ description: "The variable holding the direct URL that create hands to Prisma's CLI; default DIRECT_URL." }),
});

/**
 * How to clear a failed Prisma migration, in Prisma's own terms (its P3009 explanation and `migrate resolve`).
 */
export function describePrismaFailedFix(id: string): string {
  return (
    `Prisma will not apply new migrations while one is failed (P3009): find out what it changed before it failed. ` +
    `If you undid its changes by hand, run "migrate resolve --rolled-back ${id}" (then "migrate up" runs it again); ` +
    `if you completed it by hand (a hotfix), run "migrate resolve --applied ${id}".`
  );
}

/**
 * The Prisma stack: reads `prisma/migrations/<timestamp>_<name>/migration.sql` (with `down.sql` beside it), records
 * them in `_prisma_migrations` exactly as Prisma Migrate does, and creates migrations with the project's own
 * `prisma migrate diff`. Applying needs no Prisma engine: the core runs the SQL.
 *
 * @example
 * const adapter = createPrismaStackAdapter({ dir: "examples/prisma-app" });
 */
export function createPrismaStackAdapter(options: AdapterOptions & { settings?: PrismaStackSettings | Record<string, unknown> }): StackAdapter {
  const dir = resolve(options.dir);
  const settings = parseStackSettings(prismaSettingsSchema, options.settings, "prisma");
  const layout = resolvePrismaLayout(dir, settings);
  return {
    stack: "prisma",
    dir,
    capabilities: { rollback: "down-files", execution: "sql", canCreate: true },
    history: createPrismaHistory({ schema: settings.historySchema ?? "public" }),
    readMigrations: async () => readPrismaMigrations(layout.migrationsDir, { root: dir, ...filePolicyOf(options) }),
    downFileOf: (migration) => join(dirname(migration.file), DOWN_FILE),
    createMigration: (create) =>
      createPrismaMigration({
        ...create,
        layout: resolvePrismaLayout(dir, settings),
        ...(settings.urlEnv ? { urlEnv: settings.urlEnv } : {}),
      }),
    describeFailedFix: describePrismaFailedFix,
  };
}

function hasPackageJsonSchema(folder: string): boolean {
  const file = join(folder, "package.json");
  if (!existsSync(file)) return false;
  try {
    return typeof (JSON.parse(readFileSync(file, "utf8")) as { prisma?: { schema?: unknown } }).prisma?.schema === "string";
  } catch {
    return false;
  }
}

/** The Prisma stack's factory: detected by `prisma/schema.prisma`, a `prisma.config.ts`, or `package.json#prisma.schema`. */
export const prismaStack: AdapterFactory = {
  stack: "prisma",
  detect(folder) {
    const isPrisma = existsSync(join(folder, "prisma", "schema.prisma")) || findPrismaConfig(folder) !== undefined || hasPackageJsonSchema(folder);
    return isPrisma ? { dir: folder } : undefined;
  },
  create: (options) => createPrismaStackAdapter(options),
  settingsSchema: prismaSettingsSchema,
};

export { createPrismaHistory, toHistoryEntries, isFailedRow, PRISMA_HISTORY_TABLE, type PrismaHistoryOptions, type PrismaMigrationRow } from "./prisma-history.js";
export {
  resolvePrismaLayout,
  readPrismaMigrations,
  checkLockProvider,
  readLockProvider,
  listMigrationFolders,
  findPrismaConfig,
  MIGRATION_FILE,
  DOWN_FILE,
  SNAPSHOT_FILE,
  LOCK_FILE,
  type PrismaLayout,
  type PrismaLayoutSettings,
} from "./prisma-layout.js";
export {
  createPrismaMigration,
  nextMigrationId,
  formatTimestamp,
  slugifyMigrationName,
  readSchemaText,
  datasourceEnvNames,
  EMPTY_MIGRATION,
  LOCK_FILE_CONTENT,
  type CreatePrismaMigrationOptions,
} from "./prisma-create.js";
export { findPrismaCli, runPrisma, describePrismaFailure, type PrismaCli, type PrismaRunResult, type RunPrismaOptions } from "./prisma-cli.js";
export {
  createDirectPrismaAdapter,
  defineDirectPrismaConfig,
  resolveDirectUrl,
  type DirectPrismaAdapterOptions,
  type DirectPrismaConfigOptions,
  type DirectPrismaConfig,
} from "./prisma-config.js";
