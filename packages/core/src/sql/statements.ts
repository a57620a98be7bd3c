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
 * Splits SQL into statements with PostgreSQL's own parser, placing each on its line. When the parser cannot read the
 * text, the whole text is one statement and the parser's error is returned beside it: the server has the last word.
 */
export function splitStatements(sql: string, options: { serverVersionNum?: number } = {}): SplitResult {
  const buffer = Buffer.from(sql, "utf8");
  const lineAt = createLineCounter(buffer);
  let tree: ReturnType<typeof parseSync>;
  try {
    tree = parseSync(sql);
  } catch (error) {
    const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const cursor = details?.cursorPosition ?? 0;
    const start = firstTokenOffset(buffer, 0, buffer.length);
    return {
      statements: start < buffer.length ? [{ text: sql, line: lineAt(start) }] : [],
      parseError: {
        message: (error as Error).message,
        line: lineAt(Buffer.byteLength(sql.slice(0, cursor), "utf8")),
      },
    };
  }
  const statements: SqlStatement[] = [];
  for (const raw of tree.stmts ?? []) {
    const location = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? location + raw.stmt_len : buffer.length;
    const wrapper = (raw.stmt ?? {}) as Record<string, Record<string, unknown>>;
    const kind = Object.keys(wrapper)[0];
    const node = kind ? (wrapper[kind] ?? {}) : {};
    const first = firstTokenOffset(buffer, location, end);
    const statement: SqlStatement = {
      text: buffer.subarray(first, end).toString("utf8").trim(),
      line: lineAt(first),
      ...(kind ? { kind, node } : {}),
    };
    const reason = kind ? findNonTransactionalReason(kind, node, options.serverVersionNum) : undefined;
    if (reason) statement.nonTransactionalReason = reason;
    if (statement.text) statements.push(statement);
  }
  return { statements };
}

/** Whether the text asks, in a leading comment, to run outside a transaction (`-- polymigrate:no-transaction`). */
export function hasNoTransactionDirective(sql: string): boolean {
  return /^\s*--\s*polymigrate:no-transaction\b/im.test(sql);
}
