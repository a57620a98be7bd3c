import { parseDuration } from "../config/duration.js";
import { SAFETY_DIRECTIVE } from "../execute/session-settings.js";
import { hasNoTransactionDirective, splitStatements, type SqlStatement } from "../sql/statements.js";
import type { LintLevel, LintMigration } from "./lint-finding.js";
import {
  addedColumns,
  createdIndex,
  createdTable,
  createdView,
  droppedColumns,
  droppedTables,
  formatTable,
  isSameTable,
  referencesColumn,
  renamedTable,
  targetTable,
  type TableName,
} from "./sql-facts.js";

/** A migration with its statements, as the rules read it. */
export interface ParsedMigration {
  input: LintMigration;
  statements: SqlStatement[];
  parseError?: { message: string; line: number };
}

/** A finding of one of our own rules, on a statement of a migration. */
export interface RuleFinding {
  rule: string;
  level: LintLevel;
  message: string;
  help?: string;
  /** Index of the migration in the list the rule was given. */
  migration: number;
  /** The statement the finding is about (its line is the finding's line). */
  statement: SqlStatement;
}

/** Our own rules, for what Squawk cannot know: each has a name that `lint.disable` and `polymigrate:allow` take. */
export const POLYMIGRATE_RULES = {
  "mixed-transaction": "A migration mixes statements that must run in a transaction with statements that cannot.",
  "dropped-column-still-used": "A column is dropped while a later migration of the run, or a view, still uses it.",
  "unparsed-sql": "PostgreSQL's parser could not read the migration, so the lint could not check it.",
  "unreadable-directive": "A -- polymigrate:lock-timeout, statement-timeout or retries comment whose value cannot be read, which the runner would ignore.",
} as const;

/** The name of one of our rules. */
export type PolymigrateRule = keyof typeof POLYMIGRATE_RULES;

/** Splits each migration with PostgreSQL's parser (which must be loaded, see `loadSqlParser`). */
export function parseMigrations(migrations: LintMigration[], serverVersionNum?: number): ParsedMigration[] {
  return migrations.map((input) => {
    const split = splitStatements(input.sql, serverVersionNum ? { serverVersionNum } : {});
    return { input, statements: split.statements, ...(split.parseError ? { parseError: split.parseError } : {}) };
  });
}

/** Whether the runner (or the stack) runs the migration inside one transaction. */
export function runsInTransaction(migration: ParsedMigration): boolean {
  return isTransactionalWithoutParsing(migration.input) ?? !migration.statements.some((statement) => statement.nonTransactionalReason);
}

// The words of every statement that can refuse a transaction (see findNonTransactionalReason).
const NON_TRANSACTIONAL_WORDS =
  /\b(?:concurrently|vacuum|database|tablespace|system|subscription|begin|commit|rollback|end|start|abort|savepoint|release|prepare|value)\b/i;

/**
 * Whether the migration runs in a transaction, when that is clear without parsing it (from its settings, its
 * directive, or the absence of every word a non-transactional statement needs); `undefined` when only the parser can
 * tell.
 */
export function isTransactionalWithoutParsing(input: LintMigration): boolean | undefined {
  if (input.isWrappedByStack) return true;
  if (input.transactional !== undefined) return input.transactional;
  if (hasNoTransactionDirective(input.sql)) return false;
  return NON_TRANSACTIONAL_WORDS.test(input.sql) ? undefined : true;
}

/**
 * `mixed-transaction`: statements that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...) next to
 * statements that can. The runner then runs the whole file outside a transaction, so a failure halfway leaves the
 * first statements applied. BEGIN/COMMIT themselves are not counted.
 */
export function checkMixedTransaction(migrations: (ParsedMigration | undefined)[]): RuleFinding[] {
  const findings: RuleFinding[] = [];
  migrations.forEach((migration, index) => {
    if (!migration) return;
    const statements = migration.statements.filter((statement) => statement.kind !== undefined && statement.kind !== "TransactionStmt");
    const outside = statements.filter((statement) => statement.nonTransactionalReason);
    const inside = statements.filter((statement) => !statement.nonTransactionalReason);
    if (outside.length === 0 || inside.length === 0) return;
    const first = outside[0]!;
    findings.push({
      rule: "mixed-transaction",
      level: "error",
      migration: index,
      statement: first,
      message: `This migration mixes ${outside.length} statement(s) that cannot run in a transaction (${first.nonTransactionalReason}) with ${inside.length} that can, so it runs without a transaction and a failure halfway leaves part of it applied.`,
      help: "Split it into two migrations: one with the transactional statements, one with only the statements that cannot run in a transaction.",
    });
  });
  return findings;
}

interface DroppedColumn {
  table: TableName;
  column: string;
  migration: number;
  statement: SqlStatement;
}

/**
 * `dropped-column-still-used`: a column dropped by a migration while a later statement of the linted migrations still
 * uses it (that statement will fail), or while a view created by an earlier migration (`context`, or earlier in the
 * run) reads it (the DROP fails, or with CASCADE silently drops the view). Best effort, from the parse tree. Migrations
 * left `undefined` are known to hold neither drops, views nor later uses.
 */
export function checkDroppedColumns(migrations: (ParsedMigration | undefined)[], context: ParsedMigration[] = []): RuleFinding[] {
  const findings: RuleFinding[] = [];
  const views = new Map<string, { view: TableName; statement: SqlStatement; id: string }>();
  const noteViews = (migration: ParsedMigration, statement: SqlStatement) => {
    const view = createdView(statement);
    if (view) views.set(formatTable(view), { view, statement, id: migration.input.id });
    if (statement.kind === "DropStmt" && (statement.node?.removeType === "OBJECT_VIEW" || statement.node?.removeType === "OBJECT_MATVIEW")) {
      for (const dropped of droppedTables({ ...statement, node: { ...statement.node, removeType: "OBJECT_TABLE" } })) {
        for (const [key, entry] of views) if (isSameTable(entry.view, dropped)) views.delete(key);
      }
    }
  };
  for (const migration of context) for (const statement of migration.statements) noteViews(migration, statement);

  const positions = migrations.flatMap((migration, index) => migration?.statements.map((statement) => ({ migration: index, statement })) ?? []);
  positions.forEach(({ migration, statement }, position) => {
    for (const dropped of droppedColumns(statement)) {
      const drop: DroppedColumn = { ...dropped, migration, statement };
      const viewUser = [...views.values()].find((entry) => referencesColumn(entry.statement, drop.table, drop.column));
      const laterUser = findLaterUse(positions.slice(position + 1), drop);
      if (!viewUser && !laterUser) continue;
      const column = `"${formatTable(drop.table)}.${drop.column}"`;
      const message = laterUser
        ? `Column ${column} is dropped here, but ${migrations[laterUser.migration]!.input.id === migrations[migration]!.input.id ? "a later statement of this migration" : `the later migration "${migrations[laterUser.migration]!.input.id}"`} still uses it (line ${laterUser.statement.line}${migrations[laterUser.migration]!.input.anchorLine ? " of its SQL" : ""}), which will fail.`
        : `Column ${column} is dropped here, but the view "${formatTable(viewUser!.view)}" (created in "${viewUser!.id}") reads it: the DROP fails, or with CASCADE silently drops the view.`;
      findings.push({
        rule: "dropped-column-still-used",
        level: "error",
        migration,
        statement,
        message,
        help: laterUser
          ? "Drop the column after the migrations that still use it, or change them to stop using it."
          : "Recreate or drop the view without the column first, then drop the column.",
      });
    }
    noteViews(migrations[migration]!, statement);
  });
  return findings;
}

function findLaterUse(
  later: { migration: number; statement: SqlStatement }[],
  drop: DroppedColumn,
): { migration: number; statement: SqlStatement } | undefined {
  for (const candidate of later) {
    // The column added back, or the table dropped or created again: later uses are of something else.
    if (addedColumns(candidate.statement).some((added) => isSameTable(added.table, drop.table) && added.column === drop.column)) return undefined;
    if (droppedTables(candidate.statement).some((table) => isSameTable(table, drop.table))) return undefined;
    const created = createdTable(candidate.statement);
    if (created && isSameTable(created, drop.table)) return undefined;
    if (referencesColumn(candidate.statement, drop.table, drop.column)) return candidate;
  }
  return undefined;
}

/** Where a table comes into existence in the linted migrations (created, or renamed to its name). */
export interface TableCreation {
  table: TableName;
  migration: number;
  statementIndex: number;
}

/** Every table the migrations create (or rename into being), in order. */
export function findCreatedTables(migrations: (ParsedMigration | undefined)[]): TableCreation[] {
  const creations: TableCreation[] = [];
  migrations.forEach((migration, index) => {
    migration?.statements.forEach((statement, statementIndex) => {
      const created = createdTable(statement);
      if (created) creations.push({ table: created, migration: index, statementIndex });
      const renamed = renamedTable(statement);
      if (renamed && creations.some((creation) => isSameTable(creation.table, renamed.from))) {
        creations.push({ table: renamed.to, migration: index, statementIndex });
      }
    });
  });
  return creations;
}

/**
 * The creation that makes a lock on `statement`'s table harmless: the table was created before it in the same run
 * (`scope: "run"`), or in the same migration (`scope: "migration"`).
 */
export function findEarlierCreation(
  creations: TableCreation[],
  migration: number,
  statementIndex: number,
  statement: SqlStatement,
  scope: "run" | "migration",
): TableCreation | undefined {
  const table = targetTable(statement);
  return table ? findEarlierTableCreation(creations, migration, statementIndex, table, scope) : undefined;
}

/** Like {@link findEarlierCreation}, for a table given by name. */
export function findEarlierTableCreation(
  creations: TableCreation[],
  migration: number,
  statementIndex: number,
  table: TableName,
  scope: "run" | "migration",
): TableCreation | undefined {
  return creations.find(
    (creation) =>
      isSameTable(creation.table, table) &&
      (creation.migration < migration ? scope === "run" : creation.migration === migration && creation.statementIndex < statementIndex),
  );
}

/** Every index the migrations create, with its table, in order (to find the table a later `DROP INDEX` locks). */
export function findCreatedIndexes(migrations: (ParsedMigration | undefined)[]): (TableCreation & { index: TableName })[] {
  const created: (TableCreation & { index: TableName })[] = [];
  migrations.forEach((migration, index) => {
    migration?.statements.forEach((statement, statementIndex) => {
      const found = createdIndex(statement);
      if (found) created.push({ index: found.index, table: found.table, migration: index, statementIndex });
    });
  });
  return created;
}

/** The rules named in `-- polymigrate:allow a, b` (or `-- squawk-ignore a, b`) comments right above a statement. */
export function readAllowComments(sql: string, statementLine: number): Set<string> {
  const lines = sql.split("\n");
  const allowed = new Set<string>();
  for (let index = statementLine - 2; index >= 0; index--) {
    const line = lines[index]!.trim();
    if (!line.startsWith("--")) break;
    const match = /^--\s*(?:polymigrate:allow|squawk-ignore)\s+(.+)$/.exec(line);
    if (match) for (const rule of match[1]!.split(/[\s,]+/)) if (rule) allowed.add(rule);
  }
  return allowed;
}

/** A safety comment whose value the runner cannot read, with its 1-based line and what is wrong. */
export interface UnreadableDirective {
  line: number;
  message: string;
}

/**
 * `unreadable-directive`: `-- polymigrate:lock-timeout <value>` (or statement-timeout, retries) with a value the runner
 * would ignore, such as `5000` (a bare number is seconds, and that many must say the unit) or `0.4ms`.
 */
export function findUnreadableDirectives(sql: string): UnreadableDirective[] {
  const found: UnreadableDirective[] = [];
  for (const match of sql.matchAll(SAFETY_DIRECTIVE)) {
    const [text, name, value = ""] = match;
    const line = sql.slice(0, match.index + text.indexOf("--")).split("\n").length;
    if (name === "retries") {
      if (!/^\d+$/.test(value)) found.push({ line, message: `"-- polymigrate:retries ${value}" is not a whole number, so the runner ignores it.` });
      continue;
    }
    const duration = parseDuration(value);
    if (!duration.ok) found.push({ line, message: `"-- polymigrate:${name} ${value}": the value ${duration.problem}; the runner ignores it as it is.` });
  }
  return found;
}
