/** The closed set of error codes Polymigrate raises; identity is by code, never by class. */
export type MigrateErrorCode =
  | "USAGE"
  | "CONFIG_NOT_FOUND"
  | "CONFIG_INVALID"
  | "STACK_NOT_DETECTED"
  | "STACK_UNSUPPORTED"
  | "PROJECT_NOT_FOUND"
  | "URL_MISSING"
  | "URL_INVALID"
  | "URL_POOLED"
  | "CONNECTION_FAILED"
  | "HISTORY_INVALID"
  | "INTEGRITY"
  | "LOCK_TIMEOUT"
  /** The run's migration lock went away during the run (its session ended); nothing ran without it. */
  | "LOCK_LOST"
  /** The run was asked to stop (SIGINT, SIGTERM) and stopped at a safe point. */
  | "INTERRUPTED"
  | "MIGRATION_FAILED"
  | "MIGRATIONS_INVALID"
  | "ROLLBACK_UNAVAILABLE"
  | "CREATE_FAILED"
  | "CHILD_PROCESS_FAILED"
  | "TOOL_UNAVAILABLE"
  /** The safety lint found errors in the migrations `up` was about to apply. */
  | "UNSAFE_MIGRATION"
  /** A destructive command on a production project without --confirm <database>. */
  | "PRODUCTION_GUARD";

/** Codes that mean "refused before any work started": bad usage, configuration or a policy (exit code 2). */
export const REFUSAL_CODES: ReadonlySet<MigrateErrorCode> = new Set<MigrateErrorCode>([
  "USAGE",
  "CONFIG_NOT_FOUND",
  "CONFIG_INVALID",
  "STACK_NOT_DETECTED",
  "STACK_UNSUPPORTED",
  "PROJECT_NOT_FOUND",
  "URL_MISSING",
  "URL_INVALID",
  "URL_POOLED",
  "INTEGRITY",
  "MIGRATIONS_INVALID",
  "ROLLBACK_UNAVAILABLE",
  "UNSAFE_MIGRATION",
  "PRODUCTION_GUARD",
]);

/** Options of {@link MigrateError}: structured details and the underlying cause. */
export interface MigrateErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error class of Polymigrate: a stable code, a message that names the thing in quotes and ends with what to
 * do, and JSON-safe details.
 */
export class MigrateError extends Error {
  readonly code: MigrateErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: MigrateErrorCode, message: string, options: MigrateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MigrateError";
    this.code = code;
    this.details = options.details ?? {};
  }

  /** A plain object for JSON reports. */
  toJSON(): { code: MigrateErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Details of a failed child process, carried by {@link ChildProcessError}. */
export interface ChildProcessDetails {
  command: string;
  args: string[];
  cwd: string;
  exitCode: number | null;
  stderrTail: string;
}

/** A child process (a stack's own CLI) that failed; its details carry the command line and the tail of stderr. */
export class ChildProcessError extends MigrateError {
  constructor(message: string, details: ChildProcessDetails, cause?: unknown) {
    super("CHILD_PROCESS_FAILED", message, { details: { ...details }, cause });
    this.name = "ChildProcessError";
  }
}

/** Whether a value is a {@link MigrateError} (by shape, so that two copies of the package agree). */
export function isMigrateError(value: unknown): value is MigrateError {
  return value instanceof Error && typeof (value as Partial<MigrateError>).code === "string" && "details" in value;
}
