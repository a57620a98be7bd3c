import { randomBytes } from "node:crypto";

/**
 * Every session a run opens (its own, and a native runner's child) is named `polymigrate <command> <run id>` in
 * `application_name`, so that a later run can find the sessions of an earlier one that may still be working.
 */
const SESSION_NAME = /^polymigrate ([a-z-]+) ([0-9a-f]{12})$/;

/** The same pattern, as a PostgreSQL regular expression for `pg_stat_activity.application_name`. */
export const SESSION_NAME_SQL_PATTERN = "^polymigrate [a-z-]+ [0-9a-f]{12}$";

/** A new run id: 12 hex characters, random. */
export function createRunId(): string {
  return randomBytes(6).toString("hex");
}

/** The `application_name` of a run's sessions. */
export function sessionName(command: string, runId: string): string {
  return `polymigrate ${command} ${runId}`;
}

/** The command and run id a session name carries, when it is one of a run's. */
export function parseSessionName(name: string): { command: string; runId: string } | undefined {
  const match = SESSION_NAME.exec(name);
  return match ? { command: match[1]!, runId: match[2]! } : undefined;
}
