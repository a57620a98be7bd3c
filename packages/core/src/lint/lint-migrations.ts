import { mkdtempSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { hasNoTransactionDirective, loadSqlParser, type SqlStatement } from "../sql/statements.js";
import type { LintFinding, LintLevel, LintMigration, LintSettings } from "./lint-finding.js";
import {
  checkDroppedColumns,
  checkMixedTransaction,
  findUnreadableDirectives,
  findCreatedIndexes,
  findCreatedTables,
  findEarlierTableCreation,
  isTransactionalWithoutParsing,
  parseMigrations,
  readAllowComments,
  runsInTransaction,
  type ParsedMigration,
  type RuleFinding,
} from "./lint-rules.js";
import { droppedIndexes, formatTable, isSameTable, namesOf, targetTable, type TableName } from "./sql-facts.js";
import {
  DEFAULT_HAZARD_THRESHOLD,
  ROWS_HAZARD_RULES,
  SIZE_HAZARD_RULES,
  judgeTableSize,
  referenceKey,
  type RelationReference,
  type TableSize,
} from "./table-size.js";
import { SQUAWK_TIMEOUT_RULES, findSquawkBinary, runSquawk, type SquawkViolation } from "./squawk.js";

/**
 * Squawk's rules whose findings are errors here: operations that hold a lock blocking reads or writes while they scan
 * or rewrite a table, or that fail on a table with rows. Squawk's other rules (style, robustness, renames, drops) are
 * warnings.
 */
/**
 * The largest migration Squawk is given: it needs about 20 times a file's size in memory (990 MB for a 50 MB file of
 * INSERTs, measured), so a larger file is checked by Polymigrate's own rules alone, with a notice.
 */
export const SQUAWK_MAX_BYTES = 8 * 1024 * 1024;

export const BLOCKING_SQUAWK_RULES: ReadonlySet<string> = new Set([
  "require-concurrent-index-creation",
  "require-concurrent-index-deletion",
  "adding-required-field",
  "adding-not-nullable-field",
  "adding-field-with-default",
  "adding-serial-primary-key-field",
  "changing-column-type",
  "constraint-missing-not-valid",
  "adding-foreign-key-constraint",
  "disallowed-unique-constraint",
  "ban-concurrent-index-creation-in-transaction",
]);

/** Options of {@link lintMigrations}. */
export interface LintOptions extends LintSettings {
  /** `server_version_num` of the target server: passed to Squawk and to the transaction rules. */
  serverVersionNum?: number;
  /**
   * `run` (default): the migrations are one run, in order (the pending ones): a table created by an earlier one is
   * new. `migration`: each migration is judged as if every migration before it were already applied (linting all
   * migrations on disk): only a table created in the same migration is new.
   */
  scope?: "run" | "migration";
  /** Migrations applied before these (read for context only: the views they create). */
  context?: LintMigration[];
  /** Whether a table exists and has no rows on the target server (locks on it are then harmless). */
  isTableEmpty?: (table: TableName) => Promise<boolean>;
  /**
   * The catalog's size of the tables (or an index's table) that lock or rewrite hazards are on, in one call (see
   * `measureTables`): a hazard then blocks only on a table above `hazardThreshold`. A name missing from the result
   * does not exist on the server.
   */
  measureTables?: (references: RelationReference[]) => Promise<Map<string, TableSize>>;
  /** The environment, for `POLYMIGRATE_SQUAWK`. */
  env?: Record<string, string | undefined>;
}

/** What {@link lintMigrations} found. */
export interface LintResult {
  /** Every finding, suppressed ones included (marked with `suppressed`), in file order. */
  findings: LintFinding[];
  /** Whether Squawk ran, or was not installed for this platform (then only our own rules ran). */
  squawk: "ran" | "missing";
  /** Things to tell the user (Squawk missing). */
  notices: string[];
}

/** The findings that count (not suppressed), errors first. */
export function activeFindings(findings: LintFinding[]): LintFinding[] {
  return findings.filter((finding) => !finding.suppressed);
}

/** Whether any finding that counts is an error. */
export function hasLintErrors(findings: LintFinding[]): boolean {
  return findings.some((finding) => !finding.suppressed && finding.level === "error");
}

/** Whether the text may drop a column (`ALTER TABLE ... DROP [COLUMN] ...`). */
function mayDropColumn(sql: string): boolean {
  return /\balter\s+table\b/i.test(sql) && /\bdrop\b/i.test(sql);
}

function mayCreateView(sql: string): boolean {
  return /\bview\b/i.test(sql);
}

function mayCreateTable(sql: string): boolean {
  return /\b(?:table|index)\b/i.test(sql) && /\b(?:create|rename)\b/i.test(sql);
}

function mayHoldNonTransactional(sql: string): boolean {
  return isTransactionalWithoutParsing({ id: "", file: "", sql }) === undefined || hasNoTransactionDirective(sql);
}

function hasAllowComment(sql: string): boolean {
  return /polymigrate:allow|squawk-ignore/.test(sql);
}

function statementAt(statements: SqlStatement[], line: number): { statement: SqlStatement; index: number } | undefined {
  let found: { statement: SqlStatement; index: number } | undefined;
  statements.forEach((statement, index) => {
    if (statement.line <= line) found = { statement, index };
  });
  return found;
}

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return text.includes("\n") ? `${line} …` : line;
}

function place(migration: LintMigration, sqlLine: number, statement?: SqlStatement): { line: number; renderedLine?: number } {
  if (migration.anchorLine !== undefined) {
    return { line: findSourceLine(migration, statement) ?? migration.anchorLine, renderedLine: sqlLine };
  }
  return { line: (migration.firstLine ?? 1) - 1 + sqlLine };
}

// The line of the code (Alembic's `op.create_index('ix_name', ...)`) that names the rendered statement's index,
// column or table in quotes; `undefined` when none does.
function findSourceLine(migration: LintMigration, statement: SqlStatement | undefined): number | undefined {
  if (!statement || !migration.sourceLines || migration.anchorLine === undefined) return undefined;
  for (const name of namesOf(statement)) {
    const index = migration.sourceLines.findIndex((line) => line.includes(`'${name}'`) || line.includes(`"${name}"`));
    if (index !== -1) return migration.anchorLine + index;
  }
  return undefined;
}

// Runs Squawk once per transaction mode (at most two processes for the whole run). Squawk reads the user's files
// where the SQL is the whole file; other SQL (a section of a file, SQL rendered from code) goes through a temporary
// copy, which is exactly what `up` runs.
async function squawkFindings(
  binary: string,
  inputs: LintMigration[],
  isTransactional: boolean[],
  options: LintOptions,
  isSkipped: boolean[] = [],
): Promise<{ index: number; violation: SquawkViolation }[]> {
  let folder: string | undefined;
  try {
    const paths: string[] = [];
    const indexByPath = new Map<string, number>();
    for (const [index, input] of inputs.entries()) {
      if (isSkipped[index]) continue;
      let path = input.file;
      if (!input.isWholeFile || indexByPath.has(path)) {
        folder ??= mkdtempSync(join(tmpdir(), "polymigrate-lint-"));
        path = join(folder, `${index}.sql`);
        writeFileSync(path, input.sql);
      }
      paths[index] = path;
      indexByPath.set(path, index);
    }
    const include = options.include ?? [];
    const timeoutRules: readonly string[] = SQUAWK_TIMEOUT_RULES;
    const exclude = include.includes("require-timeout-settings") ? [] : timeoutRules.filter((rule) => !include.includes(rule));
    const squawkInclude = include.filter((rule) => rule !== "require-timeout-settings" && !timeoutRules.includes(rule));
    const groups = [true, false].map((inTransaction) =>
      inputs.flatMap((_, index) => (isTransactional[index] === inTransaction && !isSkipped[index] ? [paths[index]!] : [])),
    );
    const results = await Promise.all(
      groups.map((files, group) =>
        runSquawk(binary, files, {
          cwd: folder ?? tmpdir(),
          exclude,
          include: squawkInclude,
          assumeInTransaction: group === 0,
          ...(options.serverVersionNum ? { serverVersionNum: options.serverVersionNum } : {}),
        }),
      ),
    );
    return results.flat().flatMap((violation) => {
      const index = indexByPath.get(violation.file) ?? indexByPath.get(resolve(folder ?? tmpdir(), violation.file));
      return index === undefined ? [] : [{ index, violation }];
    });
  } finally {
    if (folder) await rm(folder, { recursive: true, force: true });
  }
}

/**
 * The safety lint: runs Squawk (once for all migrations) and our own rules on the migrations' SQL, then uses the
 * run's context to mark harmless findings as suppressed: a lock on a table created earlier in the run, or on a table
 * that is empty on the server. Findings silenced by a `-- polymigrate:allow <rule>` comment on the line before the
 * statement, or of a disabled rule, are dropped.
 *
 * @example
 * const { findings } = await lintMigrations([{ id: "0002_index", file, sql }], { serverVersionNum: 150004 });
 */
export async function lintMigrations(migrations: LintMigration[], options: LintOptions = {}): Promise<LintResult> {
  await loadSqlParser();
  // Parsing is most of the lint's own time on a long history, so a migration is parsed only when a rule or a finding
  // needs its statements; the text tells when none can.
  const parsed: (ParsedMigration | undefined)[] = new Array(migrations.length);
  const parseAt = (index: number): ParsedMigration =>
    (parsed[index] ??= parseMigrations([migrations[index]!], options.serverVersionNum)[0]!);
  const isTransactional = migrations.map((input, index) => isTransactionalWithoutParsing(input) ?? runsInTransaction(parseAt(index)));
  const disabled = new Set(options.disable ?? []);
  const notices: string[] = [];
  const binary = findSquawkBinary(options.env ?? process.env);
  if (!binary) {
    notices.push(
      `Squawk's binary is not installed for ${process.platform}-${process.arch} (the optional dependency @squawk-cli/${process.platform}-${process.arch} of squawk-cli): only Polymigrate's own lint rules ran.`,
    );
  }
  const isTooLarge = migrations.map((input) => input.sql.length > SQUAWK_MAX_BYTES / 4 && Buffer.byteLength(input.sql) > SQUAWK_MAX_BYTES);
  if (binary) {
    for (const [index, input] of migrations.entries()) {
      if (!isTooLarge[index]) continue;
      const size = (Buffer.byteLength(input.sql) / (1024 * 1024)).toFixed(1);
      notices.push(`Squawk did not read "${input.file}" (${size} MiB, above ${SQUAWK_MAX_BYTES / (1024 * 1024)} MiB, which would take it about 20 times that in memory): only Polymigrate's own rules checked it.`);
    }
  }
  const squawking =
    binary && isTooLarge.some((isLarge) => !isLarge) ? squawkFindings(binary, migrations, isTransactional, options, isTooLarge) : Promise.resolve([]);
  // Keep a failure of Squawk for the await below, not as an unhandled rejection while we parse.
  squawking.catch(() => {});

  // What our own rules need parsed: migrations that may hold a non-transactional statement (mixed-transaction); from
  // the first one that may drop a column, every later one, and the views before it (dropped-column-still-used).
  // Without Squawk, everything (then our parser is the only reader of the SQL).
  const firstDrop = migrations.findIndex((input) => mayDropColumn(input.sql));
  for (const [index, input] of migrations.entries()) {
    const isNeeded =
      !binary ||
      isTooLarge[index] ||
      mayHoldNonTransactional(input.sql) ||
      (firstDrop !== -1 && (index >= firstDrop || mayCreateView(input.sql)));
    if (isNeeded) parseAt(index);
    if (index % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  const context =
    firstDrop === -1 ? [] : parseMigrations((options.context ?? []).filter((input) => mayCreateView(input.sql)), options.serverVersionNum);

  type Located = { index: number; statement?: SqlStatement; statementIndex?: number; finding: LintFinding };
  const located: Located[] = [];

  for (const { index, violation } of await squawking) {
    const input = migrations[index];
    if (!input || disabled.has(violation.rule_name)) continue;
    const isBlocking = BLOCKING_SQUAWK_RULES.has(violation.rule_name);
    // A warning needs no statement unless a comment may silence it; an error may be suppressed by the context.
    const migration = isBlocking || parsed[index] || hasAllowComment(input.sql) ? parseAt(index) : undefined;
    const sqlLine = violation.line + 1;
    const at = migration ? statementAt(migration.statements, sqlLine) : undefined;
    const level: LintLevel = isBlocking
      ? "error"
      : violation.level.toLowerCase() === "error" && violation.rule_name !== "syntax-error"
        ? "error"
        : "warning";
    located.push({
      index,
      ...(at ? { statement: at.statement, statementIndex: at.index } : {}),
      finding: {
        rule: violation.rule_name,
        source: "squawk",
        level,
        message: violation.message,
        ...(violation.help ? { help: violation.help } : {}),
        migration: input.id,
        file: input.file,
        ...place(input, sqlLine, at?.statement),
        column: violation.column + 1,
        ...(at ? { statement: firstLine(at.statement.text) } : {}),
      },
    });
  }

  const own: RuleFinding[] = [...checkMixedTransaction(parsed), ...checkDroppedColumns(parsed, context)];
  parsed.forEach((migration, index) => {
    if (!migration?.parseError) return;
    located.push({
      index,
      finding: {
        rule: "unparsed-sql",
        source: "polymigrate",
        level: "warning",
        message: `PostgreSQL's parser could not read this migration (${migration.parseError.message}), so only part of the lint could check it.`,
        help: "Check the SQL; the server will have the last word when it runs.",
        migration: migration.input.id,
        file: migration.input.file,
        ...place(migration.input, migration.parseError.line),
      },
    });
  });
  migrations.forEach((input, index) => {
    for (const directive of findUnreadableDirectives(input.sql)) {
      located.push({
        index,
        finding: {
          rule: "unreadable-directive",
          source: "polymigrate",
          level: "error",
          message: directive.message,
          help: 'Write a duration with its unit, such as "-- polymigrate:lock-timeout 30s" (a bare number is seconds), or a whole number of retries.',
          migration: input.id,
          file: input.file,
          ...place(input, directive.line),
        },
      });
    }
  });
  for (const finding of own) {
    const migration = parsed[finding.migration]!;
    located.push({
      index: finding.migration,
      statement: finding.statement,
      statementIndex: migration.statements.indexOf(finding.statement),
      finding: {
        rule: finding.rule,
        source: "polymigrate",
        level: finding.level,
        message: finding.message,
        ...(finding.help ? { help: finding.help } : {}),
        migration: migration.input.id,
        file: migration.input.file,
        ...place(migration.input, finding.statement.line, finding.statement),
        statement: firstLine(finding.statement.text),
      },
    });
  }

  // The tables the run creates, for the blocking findings: read from the migrations up to the last one with such a
  // finding that may create a table.
  const lastBlocking = Math.max(-1, ...located.filter(({ finding }) => BLOCKING_SQUAWK_RULES.has(finding.rule)).map(({ index }) => index));
  for (let index = 0; index <= lastBlocking; index++) if (mayCreateTable(migrations[index]!.sql)) parseAt(index);
  const creations = findCreatedTables(parsed);
  const indexCreations = findCreatedIndexes(parsed);
  const scope = options.scope ?? "run";
  const threshold = { ...DEFAULT_HAZARD_THRESHOLD, ...options.hazardThreshold };
  const emptiness = new Map<string, Promise<boolean>>();
  const toMeasure: { finding: LintFinding; reference: RelationReference }[] = [];
  const kept: { index: number; finding: LintFinding }[] = [];
  const markHarmless = (finding: LintFinding, reason: string, hazard: LintFinding["hazard"]) => {
    finding.suppressed = reason;
    finding.level = "warning";
    if (hazard) finding.hazard = hazard;
  };
  for (const { index, statement, statementIndex, finding } of located) {
    if (disabled.has(finding.rule)) continue;
    const input = migrations[index]!;
    if (statement && readAllowComments(input.sql, statement.line).has(finding.rule)) continue;
    kept.push({ index, finding });
    const isHazardRule = SIZE_HAZARD_RULES.has(finding.rule) || ROWS_HAZARD_RULES.has(finding.rule);
    if (!statement || statementIndex === undefined || finding.source !== "squawk" || !isHazardRule) continue;
    // The table the statement locks: its target, or for DROP INDEX the table of an index the run creates; else the
    // index itself, which the catalog resolves to its table.
    let reference: RelationReference | undefined;
    const target = targetTable(statement);
    if (target) reference = { relation: target, kind: "table" };
    for (const dropped of droppedIndexes(statement)) {
      const created = [...indexCreations]
        .reverse()
        .find((creation) => isSameTable(creation.index, dropped) && (creation.migration < index ? scope === "run" : creation.migration === index && creation.statementIndex < statementIndex));
      reference = created ? { relation: created.table, kind: "table" } : { relation: dropped, kind: "index" };
      break;
    }
    if (!reference) continue;
    const creation = reference.kind === "table" ? findEarlierTableCreation(creations, index, statementIndex, reference.relation, scope) : undefined;
    if (creation) {
      const where = creation.migration === index ? "earlier in this migration" : `by "${migrations[creation.migration]!.id}", earlier in this run`;
      const table = formatTable(creation.table);
      markHarmless(finding, `table "${table}" is created ${where}: no lock hazard`, { table, judgement: "new-table" });
      continue;
    }
    if (scope !== "run") continue;
    if (options.measureTables && SIZE_HAZARD_RULES.has(finding.rule)) {
      toMeasure.push({ finding, reference });
    } else if (options.isTableEmpty && reference.kind === "table") {
      const key = formatTable(reference.relation);
      if (!emptiness.has(key)) emptiness.set(key, options.isTableEmpty(reference.relation));
      if (await emptiness.get(key)) markHarmless(finding, `table "${key}" has no rows on the server: no hazard`, undefined);
    }
  }
  if (toMeasure.length > 0) {
    let sizes: Map<string, TableSize> | undefined;
    try {
      sizes = await options.measureTables!(toMeasure.map(({ reference }) => reference));
    } catch (error) {
      notices.push(
        `Could not measure the tables the pending migrations lock (${error instanceof Error ? error.message : String(error)}): their lock and rewrite hazards are judged from the SQL alone.`,
      );
    }
    for (const { finding, reference } of sizes ? toMeasure : []) {
      const size = sizes!.get(referenceKey(reference));
      const name = formatTable(reference.relation);
      if (!size) {
        // Not on the server and not created by a statement the lint could read: the run creates it (a DO block, a
        // function), or the statement fails; either way no existing table is locked.
        const reason =
          reference.kind === "index"
            ? `index "${name}" does not exist on the server: no lock hazard`
            : `table "${name}" does not exist on the server yet, so this run creates it: no lock hazard`;
        markHarmless(finding, reason, { table: name, judgement: "new-table" });
        continue;
      }
      const verdict = judgeTableSize(finding.rule, size, threshold);
      if (verdict.isHazard) {
        finding.message = `${verdict.reason}. ${finding.message}`;
        finding.hazard = verdict.hazard;
      } else {
        markHarmless(finding, verdict.reason, verdict.hazard);
      }
    }
  }
  kept.sort(
    (a, b) =>
      a.index - b.index ||
      (a.finding.renderedLine ?? a.finding.line) - (b.finding.renderedLine ?? b.finding.line) ||
      (a.finding.column ?? 0) - (b.finding.column ?? 0),
  );
  return { findings: kept.map(({ finding }) => finding), squawk: binary ? "ran" : "missing", notices };
}
