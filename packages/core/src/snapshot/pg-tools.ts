import { execFile } from "node:child_process";
import { ChildProcessError, MigrateError } from "../model/errors.js";
import { parseDatabaseUrl } from "../db/database-url.js";
import { redact, rememberSecret } from "../policy/redact.js";

/** The PostgreSQL client programs the snapshots use. */
export type PgTool = "pg_dump" | "pg_restore";

/**
 * The libpq environment of a URL (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE): how the connection
 * reaches pg_dump, so that neither the URL nor its password is ever on a command line.
 */
export function pgEnvironment(url: string): Record<string, string> {
  // The same reading of the URL as the migration connection's, so that pg_dump reaches the same server.
  const parsed = parseDatabaseUrl(url);
  const env: Record<string, string> = {
    PGHOST: parsed.endpoints.map((endpoint) => endpoint.host).join(","),
    PGPORT: parsed.endpoints.map((endpoint) => String(endpoint.port)).join(","),
  };
  if (parsed.user) env.PGUSER = parsed.user;
  if (parsed.password) {
    env.PGPASSWORD = parsed.password;
    rememberSecret(parsed.password);
  }
  if (parsed.database) env.PGDATABASE = parsed.database;
  const sslmode = parsed.parameters.find(([key]) => key === "sslmode")?.[1];
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

/** Options of {@link runPgTool}. */
export interface RunPgToolOptions {
  /** The database to connect to (through the environment only); absent for a pg_restore that only writes SQL. */
  url?: string;
  cwd?: string;
}

/**
 * Runs pg_dump or pg_restore without a shell, the connection in its environment, and returns its stdout. A failure
 * is a `CHILD_PROCESS_FAILED` error with the tail of stderr; a missing program is `TOOL_UNAVAILABLE`.
 */
export function runPgTool(tool: PgTool, args: string[], options: RunPgToolOptions = {}): Promise<string> {
  // The caller's own PG* variables (a PGSERVICE, a PGOPTIONS) must not mix with the URL's.
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("PG") && value !== undefined) env[key] = value;
  Object.assign(env, options.url ? pgEnvironment(options.url) : {});
  const cwd = options.cwd ?? process.cwd();
  return new Promise((resolve, reject) => {
    execFile(tool, args, { env, cwd, maxBuffer: 1024 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        return reject(
          new MigrateError("TOOL_UNAVAILABLE", `"${tool}" was not found on PATH. Install PostgreSQL's client programs (Debian: apt-get install postgresql-client), then run again.`, {
            details: { command: tool },
          }),
        );
      }
      const tail = redact(stderr.trim().split("\n").slice(-15).join("\n"));
      reject(
        new ChildProcessError(
          `"${tool}" failed${typeof error.code === "number" ? ` (exit ${error.code})` : ""}: ${tail.split("\n").at(-1) ?? ""}. Check the server and the snapshot's files, then run again.`,
          { command: tool, args: args.map(redact), cwd, exitCode: typeof error.code === "number" ? error.code : null, stderrTail: tail },
          error,
        ),
      );
    });
  });
}
