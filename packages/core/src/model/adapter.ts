import type { Queryable } from "../db/queryable.js";
import type { AppliedRecord, FailedRecord, HistoryEntry, Migration } from "./migration.js";
import type { MigrateEvent } from "./events.js";
import type { MigrationReport } from "./report.js";
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
  env: Record<string, string>;
  emit: (event: MigrateEvent) => void;
  project: string;
}

/** Executes migrations for stacks whose migrations are code (Alembic): same lock, settings and report. */
export interface NativeRunner {
  up(migrations: Migration[], context: NativeRunContext): Promise<MigrationReport[]>;
  down(migrations: Migration[], context: NativeRunContext): Promise<MigrationReport[]>;
  /** The SQL `up` would run for each pending migration, by id, for `plan` only (Alembic's offline mode). */
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
}
