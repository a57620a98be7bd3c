import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { MigrateError } from "../../model/errors.js";
import type { Migration } from "../../model/migration.js";
import { sha256Hex } from "../../sql/checksum.js";
import { readMigrationFile, type MigrationFilePolicy } from "../contained-path.js";

/** `0001_create_users.sql` (up) and `0001_create_users.down.sql` (its down). */
const UP_FILE = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*?)\.sql$/;
const DOWN_SUFFIX = ".down.sql";

/**
 * Reads a plain-SQL migrations folder: `<NNNN>_<name>.sql` files applied in the order of their numbers, each with an
 * optional `<NNNN>_<name>.down.sql`. The checksum is the SHA-256 hex of the up file's bytes. Every file must be valid
 * UTF-8 and stay inside `dir`, links followed, unless the policy allows links out.
 */
export function readSqlMigrations(dir: string, policy: MigrationFilePolicy = {}): Migration[] {
  if (!existsSync(dir)) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `The migrations folder "${dir}" does not exist. Create it, or point the project's "dir" at the folder that holds the .sql files.`,
      { details: { dir } },
    );
  }
  const names = readdirSync(dir).sort();
  const migrations: Array<Omit<Migration, "order"> & { number: number }> = [];
  const seen = new Map<number, string>();
  for (const file of names) {
    if (!file.endsWith(".sql") || file.endsWith(DOWN_SUFFIX)) continue;
    const match = UP_FILE.exec(file);
    if (!match) {
      throw new MigrateError(
        "MIGRATIONS_INVALID",
        `"${join(dir, file)}" is not named like a migration. Rename it to <number>_<name>.sql (for example 0003_add_index.sql).`,
        { details: { file: join(dir, file) } },
      );
    }
    const number = Number(match[1]);
    const id = file.slice(0, -".sql".length);
    const other = seen.get(number);
    if (other) {
      throw new MigrateError(
        "MIGRATIONS_INVALID",
        `Two migrations share the number ${match[1]}: "${other}" and "${id}". Renumber one of them.`,
        { details: { ids: [other, id] } },
      );
    }
    seen.set(number, id);
    const up = readMigrationFile(join(dir, file), { ...policy, root: dir, entry: `the migration "${id}"` });
    const downPath = join(dir, `${id}${DOWN_SUFFIX}`);
    const down = existsSync(downPath)
      ? readMigrationFile(downPath, { ...policy, root: dir, entry: `the down of "${id}"` })
      : undefined;
    migrations.push({
      id,
      name: match[2] ?? id,
      number,
      checksum: sha256Hex(up.bytes),
      file: up.path,
      sql: up.text,
      ...(down ? { down: { sql: down.text, file: down.path } } : {}),
    });
  }
  return migrations
    .sort((a, b) => a.number - b.number)
    .map(({ number: _number, ...migration }, order) => ({ ...migration, order }));
}

/** The file names of the next migration in `dir`: the next number, zero-padded to the width in use (4 at least). */
export function nextSqlMigrationId(dir: string, name: string): string {
  const existing = existsSync(dir) ? readdirSync(dir).map((file) => UP_FILE.exec(file)).filter((m) => m !== null) : [];
  const last = existing.reduce((max, match) => Math.max(max, Number(match[1])), 0);
  const width = Math.max(4, ...existing.map((match) => (match[1] ?? "").length));
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!slug) {
    throw new MigrateError("USAGE", `"${name}" is not a usable migration name. Use letters and digits, e.g. "add_users".`);
  }
  return `${String(last + 1).padStart(width, "0")}_${slug}`;
}
