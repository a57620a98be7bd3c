import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  MigrateError,
  readMigrationFile,
  resolveContainedPath,
  sha256Hex,
  type Migration,
  type MigrationDown,
  type MigrationFilePolicy,
} from "@polymigrate/core";

/** The files Prisma keeps in each migration folder, and the ones Polymigrate adds beside them. */
export const MIGRATION_FILE = "migration.sql";
/** The down migration, beside `migration.sql` (the place Prisma's own documentation uses for down migrations). */
export const DOWN_FILE = "down.sql";
/**
 * The Prisma schema as of this migration, the starting point of the next `migrate create`. Its extension is not
 * `.prisma` on purpose: Prisma never reads it, not even when the schema is a folder searched for `*.prisma` files.
 */
export const SNAPSHOT_FILE = "schema.prisma.snapshot";
/** Prisma's lock file, naming the provider the migrations were written for. */
export const LOCK_FILE = "migration_lock.toml";

/** The configuration files Prisma 6 and 7 look for, in order. */
export const PRISMA_CONFIG_FILES = ["prisma.config.ts", "prisma.config.mts", "prisma.config.js", "prisma.config.mjs", "prisma.config.cts", "prisma.config.cjs", ".config/prisma.ts"];

/** Where a Prisma project keeps its schema and its migrations. */
export interface PrismaLayout {
  /** The project folder. */
  dir: string;
  /** The schema file, or the folder of a multi-file schema. */
  schemaPath: string;
  /** `prisma/migrations` unless configured otherwise. */
  migrationsDir: string;
  /** The Prisma configuration file, when there is one. */
  configFile?: string;
}

/** Settings that override what the project's own files say. */
export interface PrismaLayoutSettings {
  /** The schema file or folder, relative to the project folder. */
  schemaPath?: string;
  /** The migrations folder, relative to the project folder. */
  migrationsPath?: string;
}

// The configuration is code; Polymigrate reads its two paths as text rather than running it (running it would load
// the project's adapter and its dependencies just to list files).
function readConfigPaths(file: string): { schema?: string; migrations?: string } {
  const text = readFileSync(file, "utf8");
  const schema = /\bschema\s*:\s*["'`]([^"'`]+)["'`]/.exec(text)?.[1];
  const migrations = /\bmigrations\s*:\s*\{[^}]*?\bpath\s*:\s*["'`]([^"'`]+)["'`]/s.exec(text)?.[1];
  return { ...(schema ? { schema } : {}), ...(migrations ? { migrations } : {}) };
}

function readPackageJsonSchema(dir: string): string | undefined {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return undefined;
  try {
    const json = JSON.parse(readFileSync(file, "utf8")) as { prisma?: { schema?: unknown } };
    return typeof json.prisma?.schema === "string" ? json.prisma.schema : undefined;
  } catch {
    return undefined;
  }
}

/** Finds the Prisma configuration file of a project folder. */
export function findPrismaConfig(dir: string): string | undefined {
  return PRISMA_CONFIG_FILES.map((name) => join(dir, name)).find((file) => existsSync(file));
}

/**
 * Finds a project's schema and migrations folder the way Prisma does: the settings first, then `prisma.config.ts`
 * (`schema`, `migrations.path`), then `package.json#prisma.schema`, then `prisma/schema.prisma`; the migrations live
 * in `migrations/` beside the schema file (inside the schema folder for a multi-file schema).
 */
export function resolvePrismaLayout(dir: string, settings: PrismaLayoutSettings = {}): PrismaLayout {
  const root = resolve(dir);
  const configFile = findPrismaConfig(root);
  const fromConfig = configFile ? readConfigPaths(configFile) : {};
  const configDir = configFile ? dirname(configFile) : root;
  let schemaPath: string;
  if (settings.schemaPath) schemaPath = resolve(root, settings.schemaPath);
  else if (fromConfig.schema) schemaPath = resolve(configDir, fromConfig.schema);
  else {
    const fromPackage = readPackageJsonSchema(root);
    schemaPath = fromPackage ? resolve(root, fromPackage) : join(root, "prisma", "schema.prisma");
  }
  let migrationsDir: string;
  if (settings.migrationsPath) migrationsDir = resolve(root, settings.migrationsPath);
  else if (fromConfig.migrations) migrationsDir = resolve(configDir, fromConfig.migrations);
  else {
    const isFolder = existsSync(schemaPath) && statSync(schemaPath).isDirectory();
    migrationsDir = join(isFolder ? schemaPath : dirname(schemaPath), "migrations");
  }
  return { dir: root, schemaPath, migrationsDir, ...(configFile ? { configFile } : {}) };
}

/** Reads the provider from `migration_lock.toml`; `undefined` when the file does not exist. */
export function readLockProvider(migrationsDir: string): string | undefined {
  const file = join(migrationsDir, LOCK_FILE);
  if (!existsSync(file)) return undefined;
  const match = /^\s*provider\s*=\s*"([^"]*)"/m.exec(readFileSync(file, "utf8"));
  if (!match) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `"${file}" has no provider line. Restore it as Prisma writes it: provider = "postgresql".`,
      { details: { file } },
    );
  }
  return match[1];
}

/** Checks that the migrations were written for PostgreSQL, the only database Polymigrate migrates. */
export function checkLockProvider(migrationsDir: string): void {
  const provider = readLockProvider(migrationsDir);
  if (provider === undefined || provider === "postgresql" || provider === "postgres") return;
  throw new MigrateError(
    "MIGRATIONS_INVALID",
    `"${join(migrationsDir, LOCK_FILE)}" says these migrations were written for "${provider}", not "postgresql". Polymigrate migrates PostgreSQL only; point the project at a PostgreSQL Prisma project (datasource provider = "postgresql").`,
    { details: { file: join(migrationsDir, LOCK_FILE), provider } },
  );
}

/** The migration folders in Prisma's order (by name), without reading them. */
export function listMigrationFolders(migrationsDir: string): string[] {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Where {@link readPrismaMigrations} may read: the project's folder (default: the migrations folder) and its policy. */
export interface PrismaReadOptions extends MigrationFilePolicy {
  /** The project's folder; every file must stay inside it, links followed. */
  root?: string;
}

/**
 * Reads a Prisma migrations folder: `<timestamp>_<name>/migration.sql`, in the order of the folder names; the id is
 * the folder name (Prisma's `migration_name`), the checksum the SHA-256 hex of `migration.sql`'s bytes, and
 * `down.sql` beside it, when present, is the migration's down. An absent folder means no migration yet. A file that
 * leads out of the project (a link) or is not UTF-8 is refused.
 */
export function readPrismaMigrations(migrationsDir: string, options: PrismaReadOptions = {}): Migration[] {
  const { root = migrationsDir, ...policy } = options;
  resolveContainedPath(migrationsDir, { ...policy, root, entry: "the Prisma migrations folder" });
  checkLockProvider(migrationsDir);
  return listMigrationFolders(migrationsDir).map((name, order) => {
    const folder = join(migrationsDir, name);
    const named = { ...policy, root, within: folder };
    const file = resolveContainedPath(join(folder, MIGRATION_FILE), { ...named, entry: `the migration folder "${name}"` });
    if (!existsSync(file)) {
      // Prisma refuses the same folder (P3015).
      throw new MigrateError(
        "MIGRATIONS_INVALID",
        `The migration folder "${folder}" has no ${MIGRATION_FILE}. Restore the file, or delete the folder if it is left over.`,
        { details: { folder } },
      );
    }
    const { bytes, text } = readMigrationFile(file, { ...named, entry: `the migration folder "${name}"` });
    const downFile = join(folder, DOWN_FILE);
    const down = existsSync(downFile)
      ? { sql: readMigrationFile(downFile, { ...named, entry: `the down of "${name}"` }).text, file: downFile }
      : readCommentedDownSection(text, file);
    return {
      id: name,
      name: name.replace(/^\d+_/, ""),
      order,
      checksum: sha256Hex(bytes),
      file,
      sql: text,
      ...(down ? { down } : {}),
    };
  });
}

/**
 * The seed's convention for a hand-written down inside `migration.sql`: a `-- Down` line, then the down's statements
 * commented out (so that Prisma and the up never run them). Read only when there is no `down.sql`, which wins.
 */
export function readCommentedDownSection(sql: string, file: string): MigrationDown | undefined {
  const lines = sql.split(/\r?\n/);
  const start = lines.findIndex((line) => /^\s*--\s*down\s*:?\s*$/i.test(line));
  if (start === -1) return undefined;
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const commented = /^\s*--\s?(.*)$/.exec(line);
    if (commented) body.push(commented[1] ?? "");
    else if (line.trim() === "") body.push("");
    else break;
  }
  const text = body.join("\n").trimEnd();
  return text.trim() ? { sql: `${text}\n`, file, line: start + 2 } : undefined;
}
