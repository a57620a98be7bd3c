// PostgreSQL's parser is WebAssembly: loaded on first use only, so that commands that only read (status, history)
// never pay for it.
type Parser = typeof import("libpg-query");
let parser: Parser | undefined;

/** One statement of a migration, placed in its file. */
export interface SqlStatement {
  /** The statement's text as written. */
  text: string;
  /** 1-based line of its first token within the text the statements were split from. */
  line: number;
  /** The parse tree node's kind (`CreateStmt`, `IndexStmt`, ...); `undefined` when the text could not be parsed. */
  kind?: string;
  /** The parse tree node, for the checks that read it. */
  node?: Record<string, unknown>;
  /** Why the statement cannot run inside a transaction, when it cannot. */
  nonTransactionalReason?: string;
}

/** The statements of a SQL text, or the parser's error when it cannot read it. */
export interface SplitResult {
  statements: SqlStatement[];
  parseError?: { message: string; line: number };
}

let loading: Promise<void> | undefined;

/** Loads PostgreSQL's parser (WebAssembly) once; every other function here needs it loaded. */
export function loadSqlParser(): Promise<void> {
  loading ??= import("libpg-query").then(async (module) => {
    await module.loadModule();
    parser = module;
  });
  return loading;
}

function parseSync(sql: string): ReturnType<Parser["parseSync"]> {
  if (!parser) throw new Error("splitStatements needs the parser: await loadSqlParser() first.");
  return parser.parseSync(sql);
}

// Lines of a text by byte offset; counting resumes from the last offset asked, so that walking the statements of a
// file in order stays linear in its size.
function createLineCounter(buffer: Buffer): (offset: number) => number {
  let position = 0;
  let line = 1;
  return (offset) => {
    if (offset < position) {
      position = 0;
      line = 1;
    }
    for (; position < offset && position < buffer.length; position++) if (buffer[position] === 10) line++;
    return line;
  };
}

// Skips white space and comments so that a statement's line is the line of its first token.
function firstTokenOffset(buffer: Buffer, start: number, end: number): number {
  let index = start;
  while (index < end) {
    const char = buffer[index];
    if (char === 32 || char === 9 || char === 10 || char === 13) index++;
    else if (char === 45 && buffer[index + 1] === 45) {
      while (index < end && buffer[index] !== 10) index++;
    } else if (char === 47 && buffer[index + 1] === 42) {
      const close = buffer.indexOf("*/", index + 2);
      index = close === -1 ? end : close + 2;
    } else break;
  }
  return index;
}

/** Why a statement cannot run inside a transaction block, by PostgreSQL's rules; `undefined` when it can. */
export function findNonTransactionalReason(
  kind: string,
  node: Record<string, unknown>,
  serverVersionNum = 150000,
): string | undefined {
  const isConcurrent = node.concurrent === true;
  switch (kind) {
    case "IndexStmt":
      return isConcurrent ? "CREATE INDEX CONCURRENTLY cannot run inside a transaction" : undefined;
    case "DropStmt":
      return isConcurrent ? "DROP INDEX CONCURRENTLY cannot run inside a transaction" : undefined;
    case "ReindexStmt": {
      const params = (node.params as Array<{ DefElem?: { defname?: string } }> | undefined) ?? [];
      return params.some((param) => param.DefElem?.defname === "concurrently")
        ? "REINDEX CONCURRENTLY cannot run inside a transaction"
        : undefined;
    }
    case "VacuumStmt":
      // ANALYZE shares the node; protobuf JSON omits `false`, so only an explicit `true` is VACUUM.
      return node.is_vacuumcmd === true ? "VACUUM cannot run inside a transaction" : undefined;
    case "CreatedbStmt":
      return "CREATE DATABASE cannot run inside a transaction";
    case "DropdbStmt":
      return "DROP DATABASE cannot run inside a transaction";
    case "CreateTableSpaceStmt":
      return "CREATE TABLESPACE cannot run inside a transaction";
    case "DropTableSpaceStmt":
      return "DROP TABLESPACE cannot run inside a transaction";
    case "AlterSystemStmt":
      return "ALTER SYSTEM cannot run inside a transaction";
    case "CreateSubscriptionStmt":
    case "AlterSubscriptionStmt":
    case "DropSubscriptionStmt":
      return "subscription commands that touch a replication slot cannot run inside a transaction";
    case "AlterEnumStmt":
      return node.newVal !== undefined && serverVersionNum < 120000
        ? "ALTER TYPE ... ADD VALUE cannot run inside a transaction before PostgreSQL 12"
        : undefined;
    case "TransactionStmt":
      return "the file manages its own transaction (BEGIN/COMMIT)";
    default:
      return undefined;
  }
}

/**
 * The size of the pieces a large text is parsed in. PostgreSQL's parser builds the whole tree of its input in its
 * WebAssembly memory, which never shrinks: a 50 MB file of INSERTs made it run out of memory (at about 650 MB of tree).
 */
export const PARSE_PIECE_BYTES = 256 * 1024;
// How many times a piece that does not parse is extended to the next cut before its error is taken as the file's.
const MAX_PIECE_EXTENSIONS = 4;

/**
 * Splits SQL into statements with PostgreSQL's own parser, placing each on its line. When the parser cannot read the
 * text, the whole text is one statement and the parser's error is returned beside it: the server has the last word.
 * A text larger than {@link PARSE_PIECE_BYTES} is parsed in pieces cut after top-level semicolons, and its statements
 * parse their tree again when `node` is read, so that memory stays a few times the text's size.
 */
export function splitStatements(sql: string, options: { serverVersionNum?: number } = {}): SplitResult {
  const buffer = Buffer.from(sql, "utf8");
  if (buffer.length > PARSE_PIECE_BYTES) return splitInPieces(sql, buffer, options);
  const lineAt = createLineCounter(buffer);
  let tree: ReturnType<typeof parseSync>;
  try {
    tree = parseSync(sql);
  } catch (error) {
    return unparsed(sql, buffer, lineAt, error, 0, sql);
  }
  const statements: SqlStatement[] = [];
  for (const raw of tree.stmts ?? []) {
    const statement = toStatement(raw, sql, buffer, 0, buffer.length, lineAt, options);
    if (statement) statements.push(statement);
  }
  return { statements };
}

type RawStatement = { stmt_location?: number; stmt_len?: number; stmt?: unknown };

// One statement of a parse of `buffer[base..limit)`; `lazy` drops its tree, to be parsed again from its text on use.
function toStatement(
  raw: RawStatement,
  sql: string,
  buffer: Buffer,
  base: number,
  limit: number,
  lineAt: (offset: number) => number,
  options: { serverVersionNum?: number },
  lazy = false,
): SqlStatement | undefined {
  const location = base + (raw.stmt_location ?? 0);
  const end = raw.stmt_len ? location + raw.stmt_len : limit;
  const wrapper = (raw.stmt ?? {}) as Record<string, Record<string, unknown>>;
  const kind = Object.keys(wrapper)[0];
  const node = kind ? (wrapper[kind] ?? {}) : {};
  const first = firstTokenOffset(buffer, location, end);
  // In a large text of one byte per character, bytes are characters: slicing the text shares its memory, where
  // decoding the bytes would copy every statement.
  const text = (lazy && sql.length === buffer.length ? sql.slice(first, end) : buffer.subarray(first, end).toString("utf8")).trim();
  if (!text) return undefined;
  const line = lineAt(first);
  const statement: SqlStatement = lazy && kind ? new LazyStatement(text, line, kind) : { text, line, ...(kind ? { kind, node } : {}) };
  const reason = kind ? findNonTransactionalReason(kind, node, options.serverVersionNum) : undefined;
  if (reason) statement.nonTransactionalReason = reason;
  return statement;
}

// A statement of a large text: its tree is parsed again from its own text when first read, and kept from then on, so
// that the statements of a file whose trees nobody reads (the runner reads none) hold only their text. A class, not an
// accessor per object: 500,000 statements then take a fixed shape each.
class LazyStatement implements SqlStatement {
  text: string;
  line: number;
  kind?: string;
  nonTransactionalReason?: string;
  #node: Record<string, unknown> | undefined;

  constructor(text: string, line: number, kind: string) {
    this.text = text;
    this.line = line;
    this.kind = kind;
  }

  get node(): Record<string, unknown> {
    if (this.#node === undefined) {
      const [raw] = (parseSync(this.text).stmts ?? []) as RawStatement[];
      this.#node = ((raw?.stmt ?? {}) as Record<string, Record<string, unknown>>)[this.kind as string] ?? {};
    }
    return this.#node;
  }

  set node(value: Record<string, unknown>) {
    this.#node = value;
  }
}

// The result for a text the parser cannot read: one statement, the whole text, and the error placed on its line.
function unparsed(
  sql: string,
  buffer: Buffer,
  lineAt: (offset: number) => number,
  error: unknown,
  pieceStart: number,
  piece: string,
): SplitResult {
  const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
  const cursor = details?.cursorPosition ?? 0;
  const errorOffset = pieceStart + Buffer.byteLength(piece.slice(0, cursor), "utf8");
  const start = firstTokenOffset(buffer, 0, buffer.length);
  return {
    statements: start < buffer.length ? [{ text: sql, line: lineAt(start) }] : [],
    parseError: { message: (error as Error).message, line: lineAt(errorOffset) },
  };
}

function splitInPieces(sql: string, buffer: Buffer, options: { serverVersionNum?: number }): SplitResult {
  const cuts = findPieceCuts(buffer, PARSE_PIECE_BYTES);
  const statements: SqlStatement[] = [];
  // Statements are placed in order, so one line counter walks the file once; the error's line is counted apart.
  const lineAt = createLineCounter(buffer);
  let start = 0;
  let cutIndex = 0;
  while (start < buffer.length) {
    let extensions = 0;
    let endIndex = cutIndex;
    for (;;) {
      const end = cuts[endIndex] ?? buffer.length;
      const piece = buffer.subarray(start, end).toString("utf8");
      let tree: ReturnType<typeof parseSync>;
      try {
        tree = parseSync(piece);
      } catch (error) {
        // A cut inside a construct the scanner does not see (BEGIN ATOMIC ... END) fails the piece: try a longer one,
        // and only then take the error as the file's.
        if (end < buffer.length && extensions < MAX_PIECE_EXTENSIONS) {
          extensions += 1;
          endIndex += 1;
          continue;
        }
        return unparsed(sql, buffer, createLineCounter(buffer), error, start, piece);
      }
      for (const raw of (tree.stmts ?? []) as RawStatement[]) {
        const statement = toStatement(raw, sql, buffer, start, end, lineAt, options, true);
        if (statement) statements.push(statement);
      }
      start = end;
      cutIndex = endIndex + 1;
      break;
    }
  }
  return { statements };
}

/**
 * Byte offsets, about `size` apart, just after a semicolon outside strings, quoted names, dollar quotes and comments:
 * where a text can be cut into pieces that PostgreSQL's parser reads as it reads the whole. A cut the scanner gets
 * wrong leaves a piece that does not parse, which {@link splitStatements} then extends.
 */
export function findPieceCuts(buffer: Buffer, size: number): number[] {
  const cuts: number[] = [];
  let last = 0;
  let index = 0;
  const length = buffer.length;
  while (index < length) {
    const char = buffer[index] as number;
    if (char === 39 /* ' */) {
      // E'...' strings take backslash escapes; standard strings double the quote.
      const previous = buffer[index - 1];
      const isEscapeString = (previous === 69 || previous === 101) && !isIdentifierByte(buffer[index - 2]);
      index += 1;
      while (index < length) {
        const inner = buffer[index] as number;
        if (isEscapeString && inner === 92 /* \ */) index += 2;
        else if (inner === 39) {
          if (buffer[index + 1] === 39) index += 2;
          else break;
        } else index += 1;
      }
      index += 1;
    } else if (char === 34 /* " */) {
      const close = buffer.indexOf(34, index + 1);
      index = close === -1 ? length : close + 1;
    } else if (char === 45 && buffer[index + 1] === 45) {
      const close = buffer.indexOf(10, index);
      index = close === -1 ? length : close + 1;
    } else if (char === 47 && buffer[index + 1] === 42) {
      let depth = 1;
      index += 2;
      while (index < length && depth > 0) {
        if (buffer[index] === 47 && buffer[index + 1] === 42) {
          depth += 1;
          index += 2;
        } else if (buffer[index] === 42 && buffer[index + 1] === 47) {
          depth -= 1;
          index += 2;
        } else index += 1;
      }
    } else if (char === 36 /* $ */ && !isIdentifierByte(buffer[index - 1])) {
      const tagEnd = buffer.indexOf(36, index + 1);
      const tag = tagEnd === -1 ? undefined : buffer.subarray(index, tagEnd + 1);
      if (tag && /^\$(?:[A-Za-z_\x80-\xff][\w\x80-\xff]*)?\$$/.test(tag.toString("latin1"))) {
        const close = buffer.indexOf(tag, tagEnd + 1);
        index = close === -1 ? length : close + tag.length;
      } else index += 1;
    } else if (char === 59 /* ; */) {
      index += 1;
      if (index - last >= size && index < length) {
        cuts.push(index);
        last = index;
      }
    } else index += 1;
  }
  return cuts;
}

function isIdentifierByte(byte: number | undefined): boolean {
  return byte !== undefined && (byte === 95 || byte === 36 || byte >= 128 || (byte >= 48 && byte <= 57) || ((byte | 32) >= 97 && (byte | 32) <= 122));
}

/** Whether the text asks, in a leading comment, to run outside a transaction (`-- polymigrate:no-transaction`). */
export function hasNoTransactionDirective(sql: string): boolean {
  return /^\s*--\s*polymigrate:no-transaction\b/im.test(sql);
}
