/** How serious a lint finding is: errors stop `migrate up` (unless `--allow-unsafe`) and fail `migrate lint`. */
export type LintLevel = "error" | "warning";

/** One problem the safety lint found, placed in the user's own file. */
export interface LintFinding {
  /** The rule's name: Squawk's (`require-concurrent-index-creation`) or ours (`mixed-transaction`). */
  rule: string;
  /** Who found it. */
  source: "squawk" | "polymigrate";
  level: LintLevel;
  message: string;
  /** What to do instead, when the rule says. */
  help?: string;
  /** The migration's id. */
  migration: string;
  /** The user's file: the .sql file, or the revision file for stacks whose migrations are code (Alembic). */
  file: string;
  /** 1-based line in `file`. For rendered SQL, the line of the revision's `upgrade` function. */
  line: number;
  /** 1-based column, when known. */
  column?: number;
  /** For SQL rendered from code (Alembic's offline SQL): the 1-based line within the rendered SQL. */
  renderedLine?: number;
  /** The first line of the statement concerned. */
  statement?: string;
  /** Why the finding does not count, when context shows it is harmless (kept in the report for transparency). */
  suppressed?: string;
  /** For a lock or rewrite hazard judged on the live database (or the run): its table, and what decided. */
  hazard?: TableHazard;
}

/**
 * How a lock or rewrite hazard was judged: on a table the run creates (`new-table`), on a table at or under the
 * project's threshold (`small-table`), or on one above it (`large-table`, the only case that stays an error).
 */
export type HazardJudgement = "new-table" | "small-table" | "large-table";

/** The table behind a lock or rewrite hazard, as the run or the catalog showed it. */
export interface TableHazard {
  table: string;
  judgement: HazardJudgement;
  /** About how many rows the catalog counts; absent for a new table, or one never analyzed. */
  rows?: number;
  /** The table's size with its indexes and TOAST (`pg_total_relation_size`); absent for a new table. */
  bytes?: number;
}

/** The size from which a lock or rewrite hazard is real: a table with more rows, or more bytes, than these. */
export interface HazardThreshold {
  rows: number;
  bytes: number;
}

/** One migration handed to the lint. */
export interface LintMigration {
  id: string;
  /** The user's file the findings point at. */
  file: string;
  /** The SQL `up` runs. */
  sql: string;
  /** The 1-based line of `file` where `sql` starts (when `sql` is a section of the file); default 1. */
  firstLine?: number;
  /** Whether `sql` is exactly the content of `file` (Squawk then reads the file itself, without a temporary copy). */
  isWholeFile?: boolean;
  /**
   * Set for SQL rendered from code (Alembic): every finding points at this line of `file` (the revision's `upgrade`),
   * and keeps its line in the rendered SQL as `renderedLine`.
   */
  anchorLine?: number;
  /**
   * With `anchorLine`: the code of the function that produced the SQL (Alembic's `upgrade`), 1-based line by line from
   * `anchorLine`. A finding then points at the line of that code that names the statement's index, column or table,
   * when one does.
   */
  sourceLines?: string[];
  /** The migration's own transaction choice; `undefined` lets the statements decide, as the runner does. */
  transactional?: boolean;
  /** Whether the stack runs the migration in a transaction it opens itself (Alembic), whatever the statements say. */
  isWrappedByStack?: boolean;
}

/** A project's lint settings (`lint: { ... }` in the configuration). */
export interface LintSettings {
  /** Rules (Squawk's or ours) whose findings are dropped. */
  disable?: string[];
  /**
   * Squawk rules that are off by default and should run: its opt-in rules, and its timeout rules
   * (`require-timeout-settings`), which are off by default because the runner sets lock_timeout and statement_timeout
   * itself.
   */
  include?: string[];
  /**
   * With a database: the table size above which a lock or rewrite hazard blocks; on a smaller table, or one the run
   * creates, it is a notice. Default 10,000 rows or 10 MiB.
   */
  hazardThreshold?: Partial<HazardThreshold>;
}
