import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { MigrateError } from "../model/errors.js";

/** The largest migration file read by default: 64 MiB (a project raises it with `maxMigrationBytes`). */
export const DEFAULT_MAX_MIGRATION_BYTES = 64 * 1024 * 1024;

/** The project's settings that loosen how its migration files are read; every layout honours them. */
export interface MigrationFilePolicy {
  /** Follow symbolic links that lead outside the project's folder (`allowSymlinksOutside` in migrate.config). */
  allowSymlinksOutside?: boolean;
  /** The largest migration file, in bytes; default {@link DEFAULT_MAX_MIGRATION_BYTES}. */
  maxMigrationBytes?: number;
}

/** The {@link MigrationFilePolicy} part of a project's options (an adapter's options carry more). */
export function filePolicyOf(options: MigrationFilePolicy): MigrationFilePolicy {
  return {
    ...(options.allowSymlinksOutside ? { allowSymlinksOutside: true } : {}),
    ...(options.maxMigrationBytes === undefined ? {} : { maxMigrationBytes: options.maxMigrationBytes }),
  };
}

/** Where a layout's file must stay, what names it (for the message), and the project's policy. */
export interface ContainedPathOptions extends MigrationFilePolicy {
  /** The project's folder: every file the layout names must resolve inside it, links followed. */
  root: string;
  /** What names the file, for the message: `the journal entry "../x"`, `the migration folder "2024_init"`. */
  entry: string;
  /**
   * The folder the entry names a file in, when the entry is a name rather than a path (a journal tag): the path must
   * not climb out of it, even to elsewhere in the project. Default: the root.
   */
  within?: string;
}

/** A migration file's bytes and its text (valid UTF-8, a byte order mark kept, so that the text encodes back to the bytes). */
export interface MigrationFile {
  path: string;
  bytes: Buffer;
  text: string;
}

/** Whether `path` is `root` or inside it (both absolute and normalised). */
export function isPathInside(root: string, path: string): boolean {
  const rest = relative(root, path);
  return rest === "" || (rest !== ".." && !rest.startsWith(`..${sep}`) && !isAbsolute(rest));
}

// The real path of the deepest part of `path` that exists, with the rest appended: a file that does not exist yet is
// still placed where its existing parent folders (links followed) put it.
function realPathOf(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = resolve(path, "..");
  return parent === path ? path : resolve(realPathOf(parent), relative(parent, path));
}

/**
 * Resolves a path a stack's layout names and checks that it stays inside the project's folder: lexically (an entry
 * such as `../outside` is always refused), then after following symbolic links (refused unless the project allows
 * links that leave it). Throws `MIGRATIONS_INVALID` naming the entry; returns the path, links not followed.
 *
 * @example
 * const file = resolveContainedPath(join(out, `${tag}.sql`), { root: projectDir, entry: `the journal entry "${tag}"` });
 */
export function resolveContainedPath(path: string, options: ContainedPathOptions): string {
  const root = resolve(options.root);
  const resolved = resolve(root, path);
  const within = options.within === undefined ? root : resolve(options.within);
  const escaped = !isPathInside(root, resolved) ? `the project folder "${root}"` : !isPathInside(within, resolved) ? `the migrations folder "${within}"` : undefined;
  if (escaped) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `${capitalise(options.entry)} names "${resolved}", which is outside ${escaped}. Fix the entry so that it names a file inside that folder; migrate reads no migration outside it.`,
      { details: { entry: options.entry, file: resolved, root } },
    );
  }
  if (options.allowSymlinksOutside) return resolved;
  const real = realPathOf(resolved);
  const realRoot = realPathOf(root);
  if (!isPathInside(realRoot, real)) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `${capitalise(options.entry)} leads through a symbolic link from "${resolved}" to "${real}", which is outside the project folder "${root}". Replace the link with the file itself, or set "allowSymlinksOutside": true on the project in migrate.config if the link is meant.`,
      { details: { entry: options.entry, file: resolved, target: real, root } },
    );
  }
  return resolved;
}

/** The byte offset of the first byte that is not valid UTF-8, or `undefined` when every byte is. */
export function findInvalidUtf8Offset(bytes: Uint8Array): number | undefined {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return undefined;
  } catch {
    // The decoder does not say where it stopped: walk the sequences by RFC 3629's table to find the first bad one.
    let index = 0;
    while (index < bytes.length) {
      const length = utf8SequenceLength(bytes, index);
      if (length === 0) return index;
      index += length;
    }
    return bytes.length;
  }
}

// The length of the well-formed UTF-8 sequence at `index` (RFC 3629, section 4), or 0 when it is not well formed.
function utf8SequenceLength(bytes: Uint8Array, index: number): number {
  const first = bytes[index] as number;
  if (first < 0x80) return 1;
  const continuation = (at: number, low = 0x80, high = 0xbf) => {
    const byte = bytes[index + at];
    return byte !== undefined && byte >= low && byte <= high;
  };
  if (first >= 0xc2 && first <= 0xdf) return continuation(1) ? 2 : 0;
  if (first >= 0xe0 && first <= 0xef) {
    const [low, high] = first === 0xe0 ? [0xa0, 0xbf] : first === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (first >= 0xf0 && first <= 0xf4) {
    const [low, high] = first === 0xf0 ? [0x90, 0xbf] : first === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

/**
 * Reads a migration file a layout names: contained in the project's folder ({@link resolveContainedPath}), no larger
 * than the project's limit, and valid UTF-8 (refused with the offset of the first invalid byte). Every refusal is
 * `MIGRATIONS_INVALID`, before anything is applied.
 */
export function readMigrationFile(path: string, options: ContainedPathOptions): MigrationFile {
  const file = resolveContainedPath(path, options);
  const limit = options.maxMigrationBytes ?? DEFAULT_MAX_MIGRATION_BYTES;
  const size = statSync(file).size;
  if (size > limit) {
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `"${file}" is ${formatBytes(size)}, more than the ${formatBytes(limit)} a migration may be. Split it into several migrations, load bulk data with COPY outside the migration, or raise the project's "maxMigrationBytes" in migrate.config.`,
      { details: { file, bytes: size, limit } },
    );
  }
  const bytes = readFileSync(file);
  let text: string;
  try {
    // ignoreBOM keeps a leading byte order mark in the text, as readFileSync(file, "utf8") always did.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const offset = findInvalidUtf8Offset(bytes) ?? 0;
    throw new MigrateError(
      "MIGRATIONS_INVALID",
      `"${file}" is not valid UTF-8: the byte at offset ${offset} (0x${(bytes[offset] ?? 0).toString(16).padStart(2, "0")}) starts no valid character. Convert the file to UTF-8 (for example with iconv -f latin1 -t utf-8), the encoding migrate and the stacks read.`,
      { details: { file, offset } },
    );
  }
  return { path: file, bytes, text };
}

/**
 * Whether a migration's SQL has no statement at all: only white space, comments and semicolons. Scanning stops at the
 * first other character, so text inside a string literal is never mistaken for a comment.
 */
export function isEmptySql(sql: string): boolean {
  let index = 0;
  while (index < sql.length) {
    const char = sql[index];
    if (char === ";" || char === " " || char === "\t" || char === "\n" || char === "\r" || char === "\f" || char === "\ufeff") {
      index += 1;
    } else if (char === "-" && sql[index + 1] === "-") {
      const end = sql.indexOf("\n", index);
      index = end === -1 ? sql.length : end + 1;
    } else if (char === "/" && sql[index + 1] === "*") {
      // PostgreSQL's block comments nest.
      let depth = 1;
      index += 2;
      while (index < sql.length && depth > 0) {
        if (sql.startsWith("/*", index)) {
          depth += 1;
          index += 2;
        } else if (sql.startsWith("*/", index)) {
          depth -= 1;
          index += 2;
        } else index += 1;
      }
      // An unterminated comment is the server's error to report, not an empty migration.
      if (depth > 0) return false;
    } else return false;
  }
  return true;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB` : `${bytes} bytes`;
}
