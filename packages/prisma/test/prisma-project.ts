// Throwaway Prisma projects for the integration tests: the real prisma 6.19.3 CLI, @prisma/adapter-pg and this
// package, linked in from this package's node_modules as an installed application would have them.
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { createTestProject, type TestDatabase, type TestProject } from "@polymigrate/testing";

/** This package's folder and node_modules (prisma, @prisma/adapter-pg). */
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const PACKAGE_NODE_MODULES = join(PACKAGE_DIR, "node_modules");

/** The example project whose schema and migrations the tests reuse. */
export const EXAMPLE_DIR = fileURLToPath(new URL("../../../examples/prisma-app", import.meta.url));

/** The example's migration folders, oldest first. */
export function exampleMigrations(): string[] {
  return readdirSync(join(EXAMPLE_DIR, "prisma", "migrations"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** The schema as of one of the example's migrations (its snapshot). */
export function exampleSnapshot(id: string): string {
  return readFileSync(join(EXAMPLE_DIR, "prisma", "migrations", id, "schema.prisma.snapshot"), "utf8");
}

/** Prisma's config for the tests: the WebAssembly schema engine over DIRECT_URL, through this package's helper. */
export const PRISMA_CONFIG = `import { defineConfig } from "prisma/config";
import { defineDirectPrismaConfig } from "@polymigrate/prisma/config";

export default defineConfig(defineDirectPrismaConfig({ schema: "prisma/schema.prisma" }));
`;

/** Options of {@link createPrismaProject}. */
export interface PrismaProjectOptions {
  /** How many of the example's migrations to copy (default all). */
  migrations?: number;
  /** The schema; default the example's current schema. */
  schema?: string;
  /** Write prisma.config.ts (default true); without it Prisma wants its native engine. */
  hasPrismaConfig?: boolean;
}

function link(project: TestProject, name: string, target: string): void {
  const path = join(project.dir, "node_modules", name);
  mkdirSync(join(path, ".."), { recursive: true });
  symlinkSync(target, path);
}

/**
 * A Prisma project in a temporary folder: the example's schema and (some of) its migrations, a `prisma.config.ts`,
 * and a `migrate.config.json` naming the project "app" (so that only this adapter is loaded).
 */
export function createPrismaProject(options: PrismaProjectOptions = {}): TestProject {
  const project = createTestProject({
    "package.json": JSON.stringify({ name: "prisma-test-app", private: true, type: "module" }, null, 2),
    "migrate.config.json": JSON.stringify({ projects: [{ name: "app", stack: "prisma", dir: "." }] }, null, 2),
    "prisma/schema.prisma": options.schema ?? readFileSync(join(EXAMPLE_DIR, "prisma", "schema.prisma"), "utf8"),
    ...(options.hasPrismaConfig === false ? {} : { "prisma.config.ts": PRISMA_CONFIG }),
  });
  const migrations = exampleMigrations().slice(0, options.migrations ?? Infinity);
  if (migrations.length > 0) {
    project.write("prisma/migrations/migration_lock.toml", readFileSync(join(EXAMPLE_DIR, "prisma", "migrations", "migration_lock.toml"), "utf8"));
    for (const id of migrations) {
      cpSync(join(EXAMPLE_DIR, "prisma", "migrations", id), join(project.dir, "prisma", "migrations", id), { recursive: true });
    }
  }
  link(project, "prisma", join(PACKAGE_NODE_MODULES, "prisma"));
  link(project, "@prisma/adapter-pg", join(PACKAGE_NODE_MODULES, "@prisma", "adapter-pg"));
  link(project, "@polymigrate/prisma", PACKAGE_DIR);
  return project;
}

/** The environment a user would have: the direct URL for migrations, the application's URL beside it. */
export function urlEnv(database: TestDatabase, password = "pm-prisma-secret"): Record<string, string> {
  const url = database.urlWithPassword(password);
  return { DIRECT_URL: url, DATABASE_URL: url };
}

/** Runs the project's real `prisma` CLI (never a shell), URLs in the environment only. */
export async function runPrismaCli(
  project: TestProject,
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = await execa(process.execPath, [join(PACKAGE_NODE_MODULES, "prisma", "build", "index.js"), ...args], {
    cwd: project.dir,
    env: { ...env, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1", NO_COLOR: "1" },
    reject: false,
    timeout: 60_000,
    stripFinalNewline: false,
  });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

/** One row of `_prisma_migrations`. */
export interface HistoryRow extends Record<string, unknown> {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

/** The rows of `_prisma_migrations`, oldest first. */
export function readHistory(database: TestDatabase): Promise<HistoryRow[]> {
  return database.query<HistoryRow>("SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name");
}

/**
 * The application's schema as the catalog describes it (tables, columns, constraints, indexes, enums), outside
 * `_prisma_migrations`: two databases with the same snapshot have the same schema, whatever SQL text made them.
 */
export async function catalogSnapshot(database: TestDatabase): Promise<Record<string, unknown[]>> {
  const columns = await database.query(
    `SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, character_maximum_length
       FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
      ORDER BY table_name, column_name`,
  );
  const constraints = await database.query(
    `SELECT c.conrelid::regclass::text AS table_name, c.conname, c.contype, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE n.nspname = 'public' AND c.conrelid::regclass::text NOT LIKE '%_prisma_migrations%'
      ORDER BY 1, 2`,
  );
  const indexes = await database.query(
    `SELECT tablename, indexname, indexdef FROM pg_indexes
      WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY tablename, indexname`,
  );
  const enums = await database.query(
    `SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' GROUP BY t.typname ORDER BY t.typname`,
  );
  const sequences = await database.query(
    `SELECT sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = 'public' ORDER BY 1`,
  );
  return { columns, constraints, indexes, enums, sequences };
}
