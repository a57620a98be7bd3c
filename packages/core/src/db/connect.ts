import pg from "pg";
import { MigrateError } from "../model/errors.js";
import { redact, redactUrl } from "../policy/redact.js";

/** How long a command's own reads (the catalog, the history, the ledger) may wait behind another session's lock. */
export const READ_LOCK_TIMEOUT_MS = 2000;

/** An open session on the database, with the facts the core needs about it. */
export interface DatabaseSession {
  client: pg.Client;
  /** `server_version_num`, e.g. 150008. */
  serverVersionNum: number;
  close(): Promise<void>;
}

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Shown in `pg_stat_activity.application_name`. */
  applicationName?: string;
  /** Where the URL came from, for messages. */
  source?: string;
  connectTimeoutMs?: number;
  /**
   * The session's `lock_timeout`: catalog reads (pg_get_expr and friends lock the relations they describe) must not
   * hang behind another session's ACCESS EXCLUSIVE lock. A migration's own settings replace it later.
   */
  lockTimeoutMs?: number;
}

/** Opens one session on `url`; a failure becomes a `CONNECTION_FAILED` error naming the database, never its password. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<DatabaseSession> {
  const client = new pg.Client({
    connectionString: url,
    application_name: options.applicationName ?? "polymigrate",
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // A server that goes away later makes the client emit 'error'; the query in flight reports it.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => {});
    const from = options.source ? ` (from "${options.source}")` : "";
    throw new MigrateError(
      "CONNECTION_FAILED",
      `Could not connect to "${redactUrl(url)}"${from}: ${redact(describeError(cause))}. Check that the server is running and that the URL, user and database are right.`,
      { details: { database: redactUrl(url), sqlState: (cause as { code?: string }).code } },
    );
  }
  if (options.lockTimeoutMs !== undefined) {
    await client.query("SELECT set_config('lock_timeout', $1, false)", [`${Math.round(options.lockTimeoutMs)}ms`]);
  }
  const version = await client.query<{ server_version_num: string }>("SHOW server_version_num");
  return {
    client,
    serverVersionNum: Number(version.rows[0]?.server_version_num ?? 0),
    close: async () => {
      await client.end().catch(() => {});
    },
  };
}

/** The message of an error, or of the first error inside an AggregateError (as `net` throws for several addresses). */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** Quotes an identifier for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
