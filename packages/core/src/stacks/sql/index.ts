import { existsSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { AdapterFactory, AdapterOptions, StackAdapter } from "../../model/adapter.js";
import { readSqlMigrations, nextSqlMigrationId } from "./sql-layout.js";
import { createSqlHistory } from "./sql-history.js";

/** Settings of a plain-SQL project. */
export interface SqlStackSettings {
  /** The history table's schema; default `polymigrate`. */
  schema?: string;
  /** The history table; default `sql_migrations`. */
  table?: string;
}

/**
 * The plain-SQL stack: a folder of `<NNNN>_<name>.sql` files applied in order, each with an optional
 * `<NNNN>_<name>.down.sql`, recorded in `polymigrate.sql_migrations`.
 *
 * @example
 * const adapter = createSqlAdapter({ dir: "migrations" });
 */
export function createSqlAdapter(options: AdapterOptions & { settings?: SqlStackSettings }): StackAdapter {
  const dir = resolve(options.dir);
  const settings = options.settings ?? {};
  return {
    stack: "sql",
    dir,
    capabilities: { rollback: "down-files", execution: "sql", canCreate: true },
    history: createSqlHistory({ schema: settings.schema ?? "polymigrate", table: settings.table ?? "sql_migrations" }),
    readMigrations: async () => readSqlMigrations(dir),
    async createMigration({ name }) {
      mkdirSync(dir, { recursive: true });
      const id = nextSqlMigrationId(dir, name);
      const up = join(dir, `${id}.sql`);
      const down = join(dir, `${id}.down.sql`);
      writeFileSync(up, `-- ${id}: write the change here.\n`, { flag: "wx" });
      writeFileSync(down, `-- Undoes ${id}: write the statements that reverse it here.\n`, { flag: "wx" });
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
};
