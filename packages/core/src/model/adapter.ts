import type { z } from "zod";
import type { Queryable } from "../db/queryable.js";
import type { AppliedRecord, FailedRecord, HistoryEntry, Migration, StartedRecord } from "./migration.js";
import type { MigrateEvent } from "./events.js";
import type { MigrationFailure } from "./report.js";
import type { Plan } from "./plan.js";
import type { MigrationFilePolicy } from "../stacks/contained-path.js";

/** The stacks Polymigrate knows. */
export type StackName = "sql" | "prisma" | "drizzle" | "alembic";

/** How a stack can undo a migration, strongest first. */
export type RollbackKind = "native" | "down-files" | "none";

/** What an adapter can do, declared as plain flags. */
export interface AdapterCapabilities {
  rollback: RollbackKind;
  /** Whether the core executes the migrations' SQL (`sql`) or the stack runs them itself (`native`, Alembic). */
  execution: "sql" | "native";
  /** Whether `create` is available. */
  canCreate: boolean;
}

/** Where an adapter keeps its history table. */
export interface HistoryTableName {
  schema: string;
  table: string;
}

/** A stack's history table, read and written in exactly the format the stack's own CLI uses. */
export interface HistoryStore {
  /** The table, for messages. */
  readonly location: HistoryTableName;
  /** Whether the table exists; reading must not create it (status stays read-only). */
  exists(db: Queryable): Promise<boolean>;
  /** Creates the table (and its schema) as the stack's CLI would. */
  ensure(db: Queryable): Promise<void>;
  /** Every row, in the order the stack applied them. */
  read(db: Queryable): Promise<HistoryEntry[]>;
  /**
   * Records, in the stack's own terms, that a migration which runs outside a transaction has started (Prisma's row
   * with `finished_at` NULL, so that `prisma migrate deploy` stops on it too). Stacks without such a state omit it:
   * the core keeps its own record for every stack.
   */
  recordStarted?(db: Queryable, migration: Migration, record: StartedRecord): Promise<void>;
  /** Records a migration as applied; called inside the migration's transaction when it has one. */
  recordApplied(db: Queryable, migration: Migration, record: AppliedRecord): Promise<void>;
  /** Records a failure, after the migration's transaction was rolled back; stacks without a failed state omit it. */
  recordFailed?(db: Queryable, migration: Migration, record: FailedRecord): Promise<void>;
  /** Records that an applied migration was rolled back (removes or marks its row, as the stack itself would). */
  recordRolledBack(db: Queryable, migration: Migration): Promise<void>;
  /**
   * Marks a migration as applied or rolled back without running it (`migrate resolve`), as the stack's own resolve
   * does. Without it, the core records `applied` with {@link recordApplied} and `rolled-back` with
   * {@link recordRolledBack}.
   */
  markResolved?(db: Queryable, migration: Migration, as: "applied" | "rolled-back"): Promise<void>;
}

/** Options of {@link StackAdapter.createMigration}. */
export interface CreateMigrationOptions {
  name: string;
  /** An empty migration, without asking the stack's generator. */
  empty?: boolean;
  /**
   * The project's direct URL as the CLI resolved it (from the project's `urlEnv`, through the direct-URL policy), for
   * generators that need a database (Alembic's autogenerate, Prisma 6's diff). Absent when no URL is set.
   */
  url?: string;
}

/** The files a `create` wrote. */
export interface CreateMigrationResult {
  id: string;
  files: string[];
  /** Set when the stack's generator found nothing to do. */
  isEmpty?: boolean;
}

/** Options of {@link StackAdapter.pushSchema}. */
export interface PushSchemaOptions {
  /** The direct URL the policy accepted; pass it to a child process through its environment only. */
  url: string;
  /** Apply statements that may lose data without asking. */
  force?: boolean;
}

/** What a push printed, redacted. */
export interface PushSchemaResult {
  output: string;
}

/** What a native runner (a stack that executes its own migrations) receives. */
export interface NativeRunContext {
  url: string;
  /**
   * The child's environment: libpq's `PGOPTIONS` (lock_timeout, statement_timeout, client_connection_check_interval)
   * and `PGAPPNAME` (the run's session name, so that a later run can find this run's sessions).
   */
  env: Record<string, string>;
  emit: (event: MigrateEvent) => void;
  project: string;
  /** The run's id, also the last word of `PGAPPNAME`. */
  runId?: string;
}

/** One migration in one direction, as the core's step loop hands it to a native runner. */
export interface NativeStep {
  migration: Migration;
  direction: "up" | "down";
  /**
   * SQL the runner must run on its own connection, outside any transaction, right before the step's first statement
   * that runs outside a transaction (an Alembic `autocommit_block`): it records the step as started, so that a crash
   * in the middle is visible. Run it at most once per step.
   */
  recordStartedSql: string;
  /**
   * SQL that fails (SQLSTATE `PMLCK`) unless this run still holds the migration lock. The runner runs it inside every
   * transaction just before it commits, and before every statement it runs outside a transaction: no work commits
   * without the lock.
   */
  guardSql: string;
}

/** What one native step did. */
export interface NativeStepResult {
  isSuccess: boolean;
  durationMs: number;
  /** False when part of the step ran outside a transaction (then its started record was written). */
  transactional: boolean;
  error?: MigrationFailure;
  /** Set when the step stopped because the run was asked to stop ({@link NativeSession.interrupt}). */
  isInterrupted?: boolean;
}

/** A native runner's process for one run: steps run one at a time, in order. */
export interface NativeSession {
  /** Runs one step; never rejects for a failed migration (the result says so). */
  run(step: NativeStep): Promise<NativeStepResult>;
  /** Asks the step in progress to stop: its transaction is rolled back and its result has `isInterrupted`. */
  interrupt(): void;
  /** Ends the runner's process; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Executes migrations for stacks whose migrations are code (Alembic), one step at a time inside the core's step loop:
 * same lock, settings, started records and report as the SQL stacks.
 */
export interface NativeRunner {
  /** Starts the runner for one run (one long-lived child process); it must not outlive the calling process. */
  open(context: NativeRunContext): Promise<NativeSession>;
  /** The SQL `up` would run for each pending migration, by id, for `plan` and the lint (Alembic's offline mode). */
  renderSql?(migrations: Migration[], context: NativeRunContext): Promise<Record<string, string>>;
}

/**
 * An adapter describes a stack: its capabilities, its migrations on disk, its history table and how to create a
 * migration. The core decides and executes.
 */
export interface StackAdapter {
  readonly stack: StackName;
  /** The project folder the adapter reads. */
  readonly dir: string;
  readonly capabilities: AdapterCapabilities;
  readonly history: HistoryStore;
  /** The migrations on disk, in the stack's order. Throws `MIGRATIONS_INVALID` for a layout it cannot read. */
  readMigrations(): Promise<Migration[]>;
  /** Creates a new migration, usually by calling the stack's own generator. */
  createMigration?(options: CreateMigrationOptions): Promise<CreateMigrationResult>;
  /** Present when `capabilities.execution` is `native`. */
  native?: NativeRunner;
  /** How to clear a failed migration, in the stack's own terms (one sentence ending with what to run). */
  describeFailedFix?(id: string): string;
  /** Where this stack keeps the down of a SQL migration (for `draft-down`); absent for stacks whose downs are code. */
  downFileOf?(migration: Migration): string;
  /**
   * Applies the stack's own rules to a plan the core computed (reading only): rewords or adds problems, such as the
   * checks the stack's own CLI runs. Returns the plan to use.
   */
  reviewPlan?(plan: Plan, db: Queryable): Plan | Promise<Plan>;
  /**
   * Development only: makes the database match the stack's schema without a migration (`drizzle-kit push`). Records
   * nothing in the history table; the CLI refuses it for a production project.
   */
  pushSchema?(options: PushSchemaOptions): Promise<PushSchemaResult>;
  /** Chooses what `up` applies (all, or up to `to`) instead of the core's linear choice; throws `USAGE` to refuse. */
  selectPending?(plan: Plan, to: string | undefined): Migration[];
}

/**
 * Settings of one project as the configuration gives them; each adapter reads its own `settings`, and reads its files
 * by the project's {@link MigrationFilePolicy}.
 */
export interface AdapterOptions extends MigrationFilePolicy {
  dir: string;
  settings?: Record<string, unknown>;
}

/** How the CLI finds and builds an adapter for a stack. */
export interface AdapterFactory {
  readonly stack: StackName;
  /**
   * Whether `folder` looks like a project of this stack (for running without a configuration file); returns the
   * options to create its adapter with.
   */
  detect(folder: string): AdapterOptions | undefined;
  create(options: AdapterOptions): StackAdapter | Promise<StackAdapter>;
  /** The schema of the project's `settings` in `migrate.config.*`: checked before any work, published as JSON Schema. */
  readonly settingsSchema?: z.ZodType;
}
