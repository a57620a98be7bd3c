import type { HistoryEntry, Migration } from "./migration.js";
import type { UnfinishedMigration } from "../execute/unfinished-store.js";

/** The state of one migration, comparing disk and history. */
export type MigrationState = "applied" | "pending" | "missing" | "changed" | "failed" | "unfinished";

/** One line of a plan. */
export interface PlanEntry {
  id: string;
  name: string;
  state: MigrationState;
  /** The migration on disk (absent when `missing`). */
  migration?: Migration;
  /** The history row (absent when `pending`). */
  history?: HistoryEntry;
  /** Set on a pending migration ordered before the last applied one. */
  isOutOfOrder?: boolean;
  /** Set when it started outside a transaction and never finished (state `unfinished`). */
  unfinished?: UnfinishedMigration;
}

/** The kinds of history-integrity problem a plan can find; `empty` (a pending migration with no statement) only warns. */
export type IntegrityProblemKind = "changed" | "missing" | "failed" | "unfinished" | "out-of-order" | "stack-check" | "empty";

/** One integrity problem, with a message that says what to do. */
export interface IntegrityProblem {
  kind: IntegrityProblemKind;
  id: string;
  message: string;
  /** Whether the line endings alone differ (then it is not reported as `changed`). */
  file?: string;
  /** `warning`: reported, but does not stop `up` (absent means it does, unless allowed). */
  level?: "error" | "warning";
}

/** The comparison of a project's migrations on disk with its history table: plain data. */
export interface Plan {
  entries: PlanEntry[];
  /** Pending migrations in the order `up` applies them. */
  pending: Migration[];
  problems: IntegrityProblem[];
  /** Whether the history table exists yet. */
  hasHistoryTable: boolean;
}
