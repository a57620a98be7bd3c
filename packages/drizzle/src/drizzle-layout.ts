import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MigrateError, readMigrationFile, resolveContainedPath, type Migration, type MigrationFilePolicy } from "@polymigrate/core";

/** The marker drizzle-kit writes between statements; drizzle-orm's migrator splits a file on it, nothing else. */
export const STATEMENT_BREAKPOINT = "--> statement-breakpoint";

/** One entry of `meta/_journal.json`. */
export interface DrizzleJournalEntry {
  idx: number;
  version?: string;
  /** Milliseconds since the epoch when drizzle-kit generated it; stored as `created_at` when applied. */
  when: number;
  tag: string;
  breakpoints: boolean;
}

/** `meta/_journal.json`. */
export interface DrizzleJournal {
  version?: string;
  dialect?: string;
  entries: DrizzleJournalEntry[];
}

/** What the adapter keeps in {@link Migration.meta} for a Drizzle migration. */
export interface DrizzleMigrationMeta {
  idx: number;
  when: number;
  tag: string;
  breakpoints: boolean;
  [key: string]: unknown;
}

/** The down file a Drizzle migration may have beside it: `<out>/<tag>.down.sql`, a name drizzle-kit never reads. */
export function downFileOf(out: string, tag: string): string {
  return join(out, `${tag}.down.sql`);
}

/** The path of the journal in a migrations folder. */
export function journalFileOf(out: string): string {
  return join(out, "meta", "_journal.json");
}

/**
 * The SHA-256 hex of a migration file, exactly as drizzle-orm computes it: of the file read as a UTF-8 string
 * (`readFileSync(...).toString()`), so that `hash` in the history table matches what drizzle-kit writes.
 */
export function drizzleHash(content: string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Splits a file into statements exactly as drizzle-orm's migrator does: on `--> statement-breakpoint` alone. */
export function splitOnBreakpoints(content: string): string[] {
  return content.split(STATEMENT_BREAKPOINT);
}

/** Reads and checks `meta/_journal.json`; an absent journal is an empty history (drizzle-kit creates it on first generate). */
export function readJournal(out: string): DrizzleJournal {
  const file = journalFileOf(out);
  if (!existsSync(file)) return { entries: [] };
  let journal: unknown;
  try {
    journal = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new MigrateError("MIGRATIONS_INVALID", `"${file}" is not valid JSON: ${(cause as Error).message}. Restore it from version control.`, {
      details: { file },
    });
  }
  const entries = (journal as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) {
    throw new MigrateError("MIGRATIONS_INVALID", `"${file}" has no "entries" list. Restore it from version control.`, { details: { file } });
  }
  entries.forEach((entry: unknown, position) => {
    const { idx, when, tag } = (entry ?? {}) as Record<string, unknown>;
    if (typeof idx !== "number" || typeof when !== "number" || typeof tag !== "string" || tag.length === 0) {
      throw new MigrateError(
        "MIGRATIONS_INVALID",
        `Entry ${position} of "${file}" needs a numeric "idx" and "when" and a "tag". Restore the journal from version control, or regenerate the migration with drizzle-kit.`,
        { details: { file, position } },
      );
    }
  });
  const tags = new Set<string>();
  for (const entry of entries as DrizzleJournalEntry[]) {
    if (tags.has(entry.tag)) {
      throw new MigrateError("MIGRATIONS_INVALID", `"${file}" lists "${entry.tag}" twice. Remove the duplicate entry.`, {
        details: { file, tag: entry.tag },
      });
    }
    tags.add(entry.tag);
  }
  return journal as DrizzleJournal;
}

/** Where {@link readDrizzleMigrations} may read: the project's folder (default: the migrations folder) and its policy. */
export interface DrizzleReadOptions extends MigrationFilePolicy {
  /** The project's folder; every file must stay inside it, links followed. */
  root?: string;
}

/**
 * Reads a Drizzle migrations folder in the journal's order: each entry's `<tag>.sql`, its hash as drizzle computes
 * it, and its `<tag>.down.sql` when one exists. The SQL is handed to the core as written: `--> statement-breakpoint`
 * is an SQL comment, so PostgreSQL's parser splits the same statements drizzle would, and reports the failing line.
 * A tag that climbs out of the migrations folder (`../outside`), a link out of the project and a file that is not
 * UTF-8 are refused.
 */
export function readDrizzleMigrations(out: string, options: DrizzleReadOptions = {}): Migration[] {
  const { root = out, ...policy } = options;
  resolveContainedPath(journalFileOf(out), { ...policy, root, entry: "the Drizzle journal" });
  const journal = readJournal(out);
  return journal.entries.map((entry, order) => {
    const named = { ...policy, root, within: out };
    const file = resolveContainedPath(join(out, `${entry.tag}.sql`), { ...named, entry: `the journal entry "${entry.tag}" of "${journalFileOf(out)}"` });
    if (!existsSync(file)) {
      throw new MigrateError(
        "MIGRATIONS_INVALID",
        `The journal "${journalFileOf(out)}" lists "${entry.tag}", but "${file}" does not exist. Restore the file, or remove the entry with "drizzle-kit drop".`,
        { details: { file, tag: entry.tag } },
      );
    }
    // drizzle-orm hashes the file read as a string; for valid UTF-8 (anything else is refused) that is its bytes' hash.
    const { text: sql } = readMigrationFile(file, { ...named, entry: `the journal entry "${entry.tag}"` });
    const downFile = downFileOf(out, entry.tag);
    const meta: DrizzleMigrationMeta = { idx: entry.idx, when: entry.when, tag: entry.tag, breakpoints: entry.breakpoints !== false };
    return {
      id: entry.tag,
      name: entry.tag.replace(/^\d+_/, ""),
      order,
      checksum: drizzleHash(sql),
      file,
      sql,
      ...(existsSync(downFile) ? { down: { sql: readMigrationFile(downFile, { ...named, entry: `the down of "${entry.tag}"` }).text, file: downFile } } : {}),
      meta,
    };
  });
}

/** The journal facts of a migration this adapter read. */
export function drizzleMetaOf(migration: Migration): DrizzleMigrationMeta {
  return migration.meta as DrizzleMigrationMeta;
}
