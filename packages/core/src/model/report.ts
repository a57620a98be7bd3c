import type { MigrationState, IntegrityProblem } from "./plan.js";
import type { CreateMigrationResult, StackName } from "./adapter.js";
import type { LintFinding } from "../lint/lint-finding.js";

/** What happened to one migration in a run. */
export type MigrationOutcome = "applied" | "failed" | "skipped" | "pending" | "rolled-back";

/** Timing and place of one statement. */
export interface StatementReport {
  index: number;
  line: number;
  durationMs: number;
}

/** A failure, placed in the user's own file. */
export interface MigrationFailure {
  message: string;
  /** PostgreSQL's SQLSTATE when the database raised it. */
  sqlState?: string;
  file?: string;
  line?: number;
  /** The statement that failed, as written in the file. */
  statement?: string;
  detail?: string;
  hint?: string;
  /** Statements of a non-transactional migration that stayed applied. */
  statementsApplied?: number;
  /** The tail of a child process's stderr (native stacks). */
  stderrTail?: string;
}

/** One migration's entry in a report. */
export interface MigrationReport {
  id: string;
  name: string;
  outcome: MigrationOutcome;
  durationMs?: number;
  transactional?: boolean;
  statements?: StatementReport[];
  /** How many attempts it took, when a lock timeout made it retry. */
  attempts?: number;
  error?: MigrationFailure;
  /** The SQL `up` would run (in `plan` reports). */
  sql?: string;
  /** The migration's file (in `plan` reports). */
  file?: string;
}

/** The round trip of one migration: its down must bring back the schema before it, its up the schema after it. */
export interface VerifyStepReport {
  id: string;
  name: string;
  result: "verified" | "mismatch" | "not-reversible" | "failed";
  /** What differs from the schema before the migration, after its down. */
  downDifferences: string[];
  /** What differs from the schema after the migration, after its up ran again. */
  upDifferences: string[];
  message?: string;
}

/** One row of a history table, as `history` reports it. */
export interface HistoryRow {
  id: string;
  status: "applied" | "failed";
  appliedAt?: string;
  durationMs?: number;
}

/** A decision a policy took, recorded in the report. */
export interface PolicyDecision {
  policy: string;
  decision: "allowed" | "warned" | "refused";
  message: string;
  rule?: string;
}

/** A migration's state as `status` reports it. */
export interface StatusEntry {
  id: string;
  name: string;
  state: MigrationState;
  appliedAt?: string;
  isOutOfOrder?: boolean;
  /** Set when it started outside a transaction and did not finish: how far it got. */
  unfinished?: { startedAt: string; runId: string; direction: "up" | "down"; statementsApplied?: number; statementsTotal?: number };
}

/** The outcome of one project's part of a run. */
export type ProjectOutcome = "success" | "failed" | "refused";

/** One project's part of a run. */
export interface ProjectReport {
  project: string;
  stack: StackName;
  dir: string;
  /** The database, with its password removed. */
  database?: string;
  /** The environment variable the URL came from. */
  urlSource?: string;
  outcome: ProjectOutcome;
  policies: PolicyDecision[];
  migrations: MigrationReport[];
  status?: StatusEntry[];
  history?: HistoryRow[];
  /** `verify`: the round trip of each migration, newest first. */
  verification?: VerifyStepReport[];
  /** `verify`: the throwaway database it created on the target's server (and dropped). */
  throwawayDatabase?: string;
  /** `rehearse`: the throwaway copy it ran on, and what each pending migration did there. */
  rehearsal?: RehearsalReport;
  /** `up` on production: the time and WAL position before the run, and how to restore to them. */
  restorePoint?: { time: string; lsn?: string; howTo: string };
  /** `up --snapshot`: the snapshot taken before the run; `down --to-snapshot`: the snapshot restored. */
  snapshot?: SnapshotReport;
  /** `up --branch-first`: the Neon branch made of the target before the run (its state before the migrations). */
  neonBranch?: NeonBranchReport;
  /** How long this run waited for another run's migration lock, when it had to. */
  lockWaitedMs?: number;
  /** `reset`: the schemas it dropped before applying every migration again. */
  droppedSchemas?: string[];
  /** What `create` wrote. */
  created?: CreateMigrationResult;
  problems: IntegrityProblem[];
  /** The safety lint's findings (`lint`, and `up` before it applies), suppressed ones included and marked. */
  findings?: LintFinding[];
  /** How the safety lint ran. */
  lint?: LintSummary;
  error?: { code: string; message: string; details?: Record<string, unknown> };
  /** `up`, `down`, `resolve`, `down --to-snapshot`, `baseline`: the run's row in the ledger, or why it could not be written. */
  ledger?: LedgerWrite;
  /** `status`: how the live schema differs from the one the database's last ledger row recorded (absent: no drift, or no ledger). */
  drift?: DriftReport;
  /**
   * `status`: the database's last run did not complete (killed, its connection lost) or was stopped by a signal: when,
   * by whom, and what it applied. Drift is not judged against a run that could not record its schema.
   */
  interruptedRun?: InterruptedRunReport;
  /** `history --ledger`: every run the database's ledger recorded, all projects, oldest first. */
  ledgerRuns?: LedgerRun[];
  durationMs: number;
}

/** The ledger row a run wrote, or the warning when it could not (a ledger failure never fails a run). */
export interface LedgerWrite {
  recorded: boolean;
  id?: number;
  /** SHA-256 of the schema after the run. */
  fingerprint?: string;
  warning?: string;
}

/** A run that did not complete, as `status` reports it. */
export interface InterruptedRunReport {
  ledgerId: number;
  runId?: string;
  command: string;
  project: string;
  startedAt: string;
  /** `running`: one of its sessions is still connected; `interrupted`: it ended without completing. */
  state: "running" | "interrupted";
  by?: string;
  /** The migrations it completed before it stopped. */
  applied: string[];
  reason?: string;
}

/** One migration of a ledger row. */
export interface LedgerMigration {
  id: string;
  name: string;
  outcome: MigrationOutcome;
  checksum?: string;
  durationMs?: number;
}

/** One row of the ledger, as `history --ledger` reports it. */
export interface LedgerRun {
  id: number;
  recordedAt: string;
  command: string;
  project: string;
  stack: string;
  outcome: string;
  osUser?: string;
  host?: string;
  /** The database role that ran it. */
  dbUser: string;
  ci?: Record<string, string>;
  migrations: LedgerMigration[];
  durationMs?: number;
  error?: string;
  restorePoint?: { time: string; lsn?: string };
  fingerprint: string;
}

/** The schema changed outside Polymigrate since the database's last ledger row. */
export interface DriftReport {
  /** When the last ledger row was recorded, by which command of which project. */
  since: string;
  command: string;
  project: string;
  expectedFingerprint: string;
  actualFingerprint: string;
  differences: Array<{ kind: string; name: string; change: "added" | "removed" | "altered"; before?: string; after?: string; message: string }>;
}

/** A Neon branch Polymigrate made through Neon's API (`up --branch-first`, or `rehearse`'s copy). */
export interface NeonBranchReport {
  id: string;
  name: string;
  parentId?: string;
  /** The host of the branch's read_write endpoint. */
  host: string;
  /** When it was made. */
  createdAt: string;
  /** How to go back to it (`up --branch-first`). */
  howTo?: string;
}

/** `rehearse`: the throwaway copy of the target and what each pending migration did on it. */
export interface RehearsalReport {
  /** The copy's database name (dropped after the run). */
  copy: string;
  /** `template`: CREATE DATABASE ... TEMPLATE (nobody else was connected to the target); `dump`: pg_dump | pg_restore; `neon-branch`: a Neon branch (deleted after). */
  method: "template" | "dump" | "neon-branch";
  /** `neon-branch`: the branch the rehearsal ran on. */
  neonBranch?: NeonBranchReport;
  /** Whether the copy has the target's data (`--no-data`: schema only). */
  withData: boolean;
  /** Why this method. */
  reason?: string;
  migrations: RehearsedMigration[];
}

/** One pending migration, rehearsed on the copy. */
export interface RehearsedMigration {
  id: string;
  name: string;
  outcome: MigrationOutcome;
  durationMs?: number;
  /** The table locks its statements take, from each statement's kind and the relations it names. */
  locks: Array<{ line: number; statement: string; relation: string; mode: string; isNew?: boolean; isObserved?: boolean }>;
  /** The relation locks a sample of pg_locks (every 20 ms) saw the run hold on existing tables; a short lock can be missed. */
  observedLocks?: Array<{ relation: string; mode: string }>;
  /** Where the locks were read from: the migration's SQL, a native stack's offline SQL, or unknown. */
  lockSource: "sql" | "offline-sql" | "unknown";
  /** Tables whose storage was rewritten (their relfilenode changed). */
  tablesRewritten: string[];
  /** Rows inserted, updated and deleted per table, from the statistics. */
  rowsChanged: Array<{ table: string; inserted: number; updated: number; deleted: number }>;
  error?: string;
}


/** A snapshot in a report: what it saved, where, and how to restore it. */
export interface SnapshotReport {
  id: string;
  /** `schema`, `tables` (the data of the tables the run touches) or `all` (every table's data). */
  mode: "schema" | "tables" | "all";
  folder: string;
  /** Why this mode. */
  reason?: string;
  /** The tables whose data it saved (or restored), with their row counts at snapshot time. */
  tables: Array<{ name: string; rows: number }>;
  /** How to restore it (`up`). */
  howTo?: string;
}

/** How the safety lint ran for a project. */
export interface LintSummary {
  /** `pending`: the pending migrations, against the database; `all`: every migration on disk, from the files alone. */
  scope: "pending" | "all";
  /** How many migrations were linted. */
  migrations: number;
  /** Whether Squawk ran, or was missing for this platform (then only our own rules ran). */
  squawk: "ran" | "missing";
  errors: number;
  warnings: number;
  suppressed: number;
}

/** The commands that produce a report. */
export type RunCommand = "status" | "up" | "down" | "plan" | "history" | "create" | "resolve" | "verify" | "doctor" | "lint" | "push" | "rehearse" | "baseline" | "reset" | "draft-down";

/** One typed report per run. */
export interface RunReport {
  command: RunCommand;
  startedAt: string;
  durationMs: number;
  outcome: ProjectOutcome;
  projects: ProjectReport[];
}
