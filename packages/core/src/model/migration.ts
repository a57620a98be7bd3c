import type { Queryable } from "../db/queryable.js";

/** One migration as found on disk, in any stack. */
export interface Migration {
  /** Stable id within its project: the file or folder name for SQL stacks, the revision for Alembic. */
  id: string;
  /** Human name, usually the id without its ordering prefix. */
  name: string;
  /** Position in the stack's own order, from 0. */
  order: number;
  /** Checksum in the stack's own format (for example the SHA-256 hex of `migration.sql`). */
  checksum: string;
  /** The file that holds the migration, absolute. */
  file: string;
  /** The SQL to apply, for stacks whose migrations are SQL. */
  sql?: string;
  /** The SQL that undoes it, when the stack keeps one. */
  down?: MigrationDown;
  /**
   * Whether it may run inside a transaction. `undefined` lets the core decide from the statements: a migration runs in
   * one transaction unless one of its statements forbids it.
   */
  transactional?: boolean;
  /** Stack-specific facts the adapter wants back later (journal entry, revision graph, ...). */
  meta?: Record<string, unknown>;
}

/** The down of a migration. */
export interface MigrationDown {
  sql: string;
  file: string;
  /** The first line of `sql` within `file` (1-based), when the down is a section of a larger file. */
  line?: number;
}

/** One row of a stack's history table, translated into the core's terms. */
export interface HistoryEntry {
  id: string;
  checksum?: string;
  /** `failed`: started and not finished (Prisma's failed state). */
  status: "applied" | "failed";
  appliedAt?: Date;
  durationMs?: number;
  /** Free text the stack stored with the row (Prisma's `logs`). */
  logs?: string;
}

/** What the core tells the adapter when a migration has been applied. */
export interface AppliedRecord {
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  statementsApplied: number;
  /** Whether the stack's started record was written first ({@link HistoryStore.recordStarted}): update it, not add one. */
  wasStarted?: boolean;
}

/** What the core tells the adapter before the first statement of a migration that runs outside a transaction. */
export interface StartedRecord {
  startedAt: Date;
}

/** What the core tells the adapter when a migration has failed. */
export interface FailedRecord {
  startedAt: Date;
  statementsApplied: number;
  message: string;
  /** Whether the stack's started record was written first: update it, not add one. */
  wasStarted?: boolean;
}

export type { Queryable };
