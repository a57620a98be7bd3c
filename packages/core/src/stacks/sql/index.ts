import { existsSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { parseStackSettings } from "../../config/config-schema.js";
import type {
  AdapterFactory,
  AdapterOptions,
  CreateMigrationOptions,
  CreateMigrationResult,
  StackAdapter,
} from "../../model/adapter.js";
import { draftDownFile } from "../../rollback/generate-down.js";
import { readSqlMigrations, nextSqlMigrationId } from "./sql-layout.js";
import { createSqlHistory } from "./sql-history.js";
import { filePolicyOf } from "../contained-path.js";

/** Settings of a plain-SQL project. */
export interface SqlStackSettings {
  /** The history table's schema; default `polymigrate`. */
  schema?: string;
  /** The history table; default `sql_migrations`. */
  table?: string;
}

/** The schema of a plain-SQL project's `settings`. */
export const sqlSettingsSchema: z.ZodType<SqlStackSettings> = z.strictObject({
  schema: z.string().min(1).optional().meta({ description: "The history table's schema; default polymigrate." }),
  table: z.string().min(1).optional().meta({ description: "The history table; default sql_migrations." }),
});

/** Options of the plain-SQL stack's `createMigration`: the core's, plus the up's SQL when the caller has it. */
export interface SqlCreateMigrationOptions extends CreateMigrationOptions {
  /** The up's SQL: written as the up file, with its down drafted from it (`generateDown`) beside it. */
  sql?: string;
}

/** The plain-SQL adapter: a stack adapter whose `createMigration` also takes the up's SQL. */
export type SqlStackAdapter = StackAdapter & {
  createMigration(options: SqlCreateMigrationOptions): Promise<CreateMigrationResult>;
};

/**
 * The plain-SQL stack: a folder of `<NNNN>_<name>.sql` files applied in order, each with an optional
 * `<NNNN>_<name>.down.sql`, recorded in `polymigrate.sql_migrations`.
 *
 * @example
 * const adapter = createSqlAdapter({ dir: "migrations" });
 */
export function createSqlAdapter(options: AdapterOptions & { settings?: SqlStackSettings }): SqlStackAdapter {
  const dir = resolve(options.dir);
  const settings = parseStackSettings(sqlSettingsSchema, options.settings, "sql");
  const policy = filePolicyOf(options);
  return {
    stack: "sql",
    dir,
    capabilities: { rollback: "down-files", execution: "sql", canCreate: true },
    history: createSqlHistory({ schema: settings.schema ?? "polymigrate", table: settings.table ?? "sql_migrations" }),
    readMigrations: async () => readSqlMigrations(dir, policy),
    downFileOf: (migration) => join(dir, `${migration.id}.down.sql`),
    async createMigration(create: SqlCreateMigrationOptions) {
      mkdirSync(dir, { recursive: true });
      const id = nextSqlMigrationId(dir, create.name);
      const up = join(dir, `${id}.sql`);
      const down = join(dir, `${id}.down.sql`);
      if (create.sql === undefined) {
        writeFileSync(up, `-- ${id}: write the change here.\n`, { flag: "wx" });
        writeFileSync(down, `-- Undoes ${id}: write the statements that reverse it here.\n`, { flag: "wx" });
        return { id, files: [up, down] };
      }
      // The up is known: its down is drafted from it (a draft to review, marked irreversible when it must be).
      writeFileSync(up, create.sql, { flag: "wx" });
      writeFileSync(down, (await draftDownFile(up)).sql, { flag: "wx" });
      return { id, files: [up, down] };
    },
  };
}

/** The plain-SQL stack's factory: detected by a `migrations/` folder of numbered `.sql` files. */
export const sqlStack: AdapterFactory = {
  stack: "sql",
  detect(folder) {
    const dir = join(folder, "migrations");
    const isSql = existsSync(dir) && readdirSync(dir).some((file) => /^\d+_.+\.sql$/.test(file));
    return isSql ? { dir } : undefined;
  },
  create: (options) => createSqlAdapter({ ...options, dir: resolve(options.dir) }),
  settingsSchema: sqlSettingsSchema,
};
