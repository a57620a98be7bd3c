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
  /** The server process behind the session (`pg_backend_pid()`). */
  pid: number;
  /** False once the connection ended (closed, terminated by the server, or dropped). */
  isAlive(): boolean;
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
  /**
   * Makes the server check the client's socket every so often while a query runs (PostgreSQL 14+): a client that
   * vanished (killed, or its network gone) has its statement cancelled soon, instead of running on, unobserved, until
   * it next writes a reply. Set on every session that migrates, which also turns `idle_session_timeout` off for
   * itself.
   */
  isWatched?: boolean;
}

/** How often a migrating session's server checks that its client is still there (`client_connection_check_interval`). */
export const CLIENT_CHECK_INTERVAL_MS = 1000;

/** Opens one session on `url`; a failure becomes a `CONNECTION_FAILED` error naming the database, never its password. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<DatabaseSession> {
  const client = new pg.Client({
    connectionString: url,
    application_name: options.applicationName ?? "polymigrate",
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // A server that goes away later makes the client emit 'error'; the query in flight reports it.
  client.on("error", () => {});
  let isAlive = true;
  client.on("end", () => {
    isAlive = false;
  });
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
  const facts = await client.query<{ version: string; pid: number }>(
    "SELECT current_setting('server_version_num') AS version, pg_backend_pid() AS pid",
  );
  const serverVersionNum = Number(facts.rows[0]?.version ?? 0);
  if (options.isWatched && serverVersionNum >= 140000) {
    // The session that holds the migration lock is idle while a native runner's child works or a snapshot is taken:
    // an idle_session_timeout (from the role, the database or the URL's options) would end it and the run with it.
    // It is meant for forgotten sessions; this one is not, so it is off for this session alone.
    await client.query("SELECT set_config('client_connection_check_interval', $1, false), set_config('idle_session_timeout', '0', false)", [
      `${CLIENT_CHECK_INTERVAL_MS}ms`,
    ]);
  }
  return {
    client,
    serverVersionNum,
    pid: Number(facts.rows[0]?.pid ?? 0),
    isAlive: () => isAlive,
    close: async () => {
      isAlive = false;
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
