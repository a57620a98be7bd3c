import { relative } from "node:path";
import type {
  IntegrityProblem,
  LintFinding,
  MigrateEvent,
  MigrationReport,
  ProjectReport,
  RunReport,
} from "@polymigrate/core";
import type { Output } from "../output.js";

/** Renders progress events as they come. */
export function createProgressRenderer(output: Output): (event: MigrateEvent) => void {
  return (event) => {
    switch (event.type) {
      case "project-start":
        output.out(`${event.project} (${event.stack})${event.database ? ` on ${event.database}` : ""}`);
        break;
      case "notice":
        output.out(`  ${event.level === "warning" ? "warning: " : ""}${event.message}`);
        break;
      case "lock-waiting":
        output.out(`  waiting for the migration lock${event.holder ? `, held by ${event.holder}` : ""}`);
        break;
      case "lock-acquired":
        if (event.waitedMs > 1000) output.out(`  got the migration lock after ${seconds(event.waitedMs)}`);
        break;
      case "retry":
        output.out(
          `  ↻ ${event.id}: ${event.reason}; attempt ${event.attempt} of ${event.maxAttempts} in ${milliseconds(event.delayMs)}`,
        );
        break;
      case "migration-end": {
        const mark = event.outcome === "failed" ? "✗" : "✓";
        const verb = event.outcome === "failed" ? "failed" : event.direction === "down" ? "undone" : "applied";
        output.out(`  ${mark} ${event.id}  ${verb} in ${milliseconds(event.durationMs)}`);
        break;
      }
      default:
        break;
    }
  };
}

function milliseconds(value: number): string {
  return value >= 1000 ? seconds(value) : `${Math.round(value)} ms`;
}

function seconds(value: number): string {
  return `${(value / 1000).toFixed(1)} s`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ").trimEnd());
}

function where(file: string | undefined, line: number | undefined, cwd: string): string {
  if (!file) return "";
  const path = relative(cwd, file) || file;
  return line ? `${path}:${line}` : path;
}

function renderFailure(migration: MigrationReport, cwd: string): string[] {
  const error = migration.error;
  if (!error) return [];
  const lines = [`✗ ${migration.id} failed: ${error.message}${error.sqlState ? ` (SQLSTATE ${error.sqlState})` : ""}`];
  const place = where(error.file, error.line, cwd);
  if (place) lines.push(`    at ${place}`);
  if (error.statement) {
    const text = error.statement.split("\n");
    lines.push(`    statement: ${text[0]}${text.length > 1 ? " …" : ""}`);
  }
  if (error.detail) lines.push(`    detail: ${error.detail}`);
  if (error.hint) lines.push(`    hint: ${error.hint}`);
  if (error.stderrTail) lines.push("    stderr:", ...error.stderrTail.split("\n").map((line) => `      ${line}`));
  if (migration.transactional === false && error.statementsApplied) {
    lines.push(
      `    This migration ran outside a transaction: its first ${error.statementsApplied} statement(s) stay applied. Undo them or finish the rest by hand before running it again.`,
    );
  } else if (migration.transactional === false && error.statementsApplied === undefined) {
    lines.push(`    Part of this migration ran outside a transaction: what it did before the error may stay applied ("migrate status" and "migrate doctor" say more).`);
  } else if (migration.transactional === false) {
    lines.push("    It ran outside a transaction and failed at its first statement: nothing of it is applied (an INVALID index it left is dropped by the next run).");
  } else {
    lines.push("    Its transaction was rolled back: nothing of this migration is applied.");
  }
  return lines;
}

function renderProblems(problems: IntegrityProblem[]): string[] {
  return problems.map((problem) => `  ! ${problem.message}`);
}

function summary(report: ProjectReport, command: RunReport["command"], cwd: string): string[] {
  const lines: string[] = [];
  if (report.error?.code === "UNSAFE_MIGRATION" && report.findings) {
    return [
      "  refused: the safety lint found errors in the pending migrations; nothing was applied.",
      ...renderFindings(report.findings.filter((finding) => finding.level === "error"), cwd),
      '  Make them safe, silence one with "-- polymigrate:allow <rule>" on the line before its statement, or run "migrate up --allow-unsafe".',
    ];
  }
  if (report.error) {
    lines.push(`  ${report.outcome === "refused" ? "refused" : "error"}: ${report.error.message.split("\n").join("\n  ")}`);
    return lines;
  }
  const count = (outcome: string) => report.migrations.filter((migration) => migration.outcome === outcome).length;
  if (command === "up") {
    const applied = count("applied");
    if (applied > 0 || report.migrations.length > 0) {
      lines.push(`  ${applied} applied${count("failed") ? `, ${count("failed")} failed` : ""}${count("skipped") ? `, ${count("skipped")} not run` : ""} in ${milliseconds(report.durationMs)}`);
    }
  }
  if (command === "down" && report.migrations.length > 0) {
    lines.push(`  ${count("rolled-back")} undone in ${milliseconds(report.durationMs)}`);
  }
  if (report.snapshot) {
    const saved = report.snapshot.tables.map((table) => `${table.name} (${table.rows} rows)`).join(", ");
    lines.push(
      command === "up"
        ? `  Snapshot ${report.snapshot.id} saved in ${relative(cwd, report.snapshot.folder) || "."} (${report.snapshot.mode}${saved ? `: ${saved}` : ""}). ${report.snapshot.howTo ?? ""}`.trimEnd()
        : `  Restored snapshot ${report.snapshot.id} (${report.snapshot.mode}${saved ? `; data of ${saved}` : ""}).`,
    );
  }
  for (const migration of report.migrations) lines.push(...renderFailure(migration, cwd).map((line) => `  ${line}`));
  const skipped = report.migrations.filter((migration) => migration.outcome === "skipped");
  if (skipped.length > 0) lines.push(`  Not run: ${skipped.map((migration) => migration.id).join(", ")}.`);
  return lines;
}

/** Renders the end of one project's `up`, `down` or `resolve`, right after its progress lines. */
export function renderProjectSummary(project: ProjectReport, command: RunReport["command"], output: Output, cwd: string): void {
  for (const line of summary(project, command, cwd)) (project.outcome === "success" ? output.out : output.err)(line);
}

/** Renders `status`: one table for all projects, then each project's migrations and problems. */
export function renderStatus(report: RunReport, output: Output, cwd: string): void {
  const rows = [["PROJECT", "STACK", "DATABASE", "APPLIED", "PENDING", "PROBLEMS"]];
  for (const project of report.projects) {
    const states = project.status ?? [];
    const count = (state: string) => String(states.filter((entry) => entry.state === state).length);
    rows.push([
      project.project,
      project.stack,
      project.database ?? "-",
      project.error ? "-" : count("applied"),
      project.error ? "-" : count("pending"),
      project.error ? (project.outcome === "refused" ? "refused" : "error") : project.problems.length ? String(project.problems.length) : "none",
    ]);
  }
  for (const line of table(rows)) output.out(line);
  for (const project of report.projects) {
    const states = project.status ?? [];
    const details: string[] = [];
    if (project.error) details.push(`  error: ${project.error.message}`);
    const listed = report.projects.length === 1 ? states : states.filter((entry) => entry.state !== "applied");
    const width = Math.max(0, ...listed.map((entry) => entry.id.length));
    for (const entry of listed) {
      const when = entry.appliedAt ? `  ${entry.appliedAt.replace("T", " ").replace(/\.\d+Z$/, "Z")}` : "";
      const id = entry.isOutOfOrder ? `${entry.id} (out of order)` : entry.id.padEnd(width);
      details.push(`  ${entry.state.padEnd(8)} ${id}${when}`.trimEnd());
    }
    if (report.projects.length === 1 && states.length === 0 && !project.error) details.push("  no migrations on disk");
    details.push(...renderProblems(project.problems));
    if (project.drift) details.push(...renderDrift(project.drift));
    if (details.length === 0) continue;
    output.out("");
    output.out(`${project.project} (${relative(cwd, project.dir) || "."}):`);
    for (const line of details) output.out(line);
  }
}

/** The drift warning of `status`: what changed outside migrate since the database's last ledger row. */
function renderDrift(drift: NonNullable<ProjectReport["drift"]>): string[] {
  return [
    `  warning: drift: the schema changed outside migrate since ${drift.since.replace("T", " ").replace(/\.\d+Z$/, "Z")} (last recorded: ${drift.command} of "${drift.project}"):`,
    ...drift.differences.map((difference) => `    ${difference.change === "added" ? "+" : difference.change === "removed" ? "-" : "~"} ${difference.message}`),
    '    Turn it into a migration, or accept it as the expected schema with "migrate baseline".',
  ];
}

/** Renders `history --ledger`: the database's ledger once per database, every project's runs in it. */
export function renderLedger(report: RunReport, output: Output): void {
  const shown = new Set<string>();
  for (const project of report.projects) {
    if (project.error) {
      output.out(`${project.project} (${project.stack}) on ${project.database ?? "?"}`);
      output.err(`  error: ${project.error.message}`);
      continue;
    }
    const database = project.database ?? project.project;
    if (shown.has(database)) continue;
    shown.add(database);
    output.out(`Ledger of ${database}`);
    const runs = project.ledgerRuns ?? [];
    if (runs.length === 0) {
      output.out("  nothing recorded yet");
      continue;
    }
    const lines = table([
      ["#", "RECORDED AT", "COMMAND", "PROJECT", "STACK", "OUTCOME", "BY", "MIGRATIONS", "DURATION"],
      ...runs.map((run) => [
        String(run.id),
        run.recordedAt.replace("T", " ").replace(/\.\d+Z$/, "Z"),
        run.command,
        run.project,
        run.stack,
        run.outcome,
        `${run.osUser ?? run.dbUser}@${run.host ?? "?"}${run.ci ? ` (CI ${run.ci.GITHUB_RUN_ID ?? run.ci.CI_JOB_ID ?? Object.values(run.ci)[0]})` : ""}`,
        run.migrations.length === 0 ? "-" : run.migrations.map((migration) => `${migration.id} ${migration.outcome}`).join(", "),
        run.durationMs === undefined ? "-" : milliseconds(run.durationMs),
      ]),
    ]);
    for (const line of lines) output.out(`  ${line}`);
  }
}

/** Renders `plan`: each pending migration with its SQL. */
export function renderPlan(report: RunReport, output: Output, cwd: string): void {
  for (const project of report.projects) {
    output.out(`-- ${project.project} (${project.stack}) on ${project.database ?? "?"}`);
    if (project.error) {
      output.err(`-- error: ${project.error.message}`);
      continue;
    }
    for (const line of renderProblems(project.problems)) output.out(`--${line}`);
    if (project.migrations.length === 0) output.out("-- nothing to apply");
    for (const migration of project.migrations) {
      output.out(`-- ${migration.id} (${where(migration.file, undefined, cwd)})`);
      output.out(migration.sql?.trimEnd() ?? "-- (this stack's migrations are code; its SQL is not known ahead)");
      output.out("");
    }
  }
}

/** Renders `history`: the rows of each project's history table. */
export function renderHistory(report: RunReport, output: Output): void {
  for (const project of report.projects) {
    output.out(`${project.project} (${project.stack}) on ${project.database ?? "?"}`);
    if (project.error) {
      output.err(`  error: ${project.error.message}`);
      continue;
    }
    const rows = project.history ?? [];
    if (rows.length === 0) {
      output.out("  nothing recorded yet");
      continue;
    }
    const lines = table([
      ["APPLIED AT", "MIGRATION", "STATUS", "DURATION"],
      ...rows.map((row) => [
        row.appliedAt?.replace("T", " ").replace(/\.\d+Z$/, "Z") ?? "-",
        row.id,
        row.status,
        row.durationMs === undefined ? "-" : milliseconds(row.durationMs),
      ]),
    ]);
    for (const line of lines) output.out(`  ${line}`);
  }
}

/** Renders `verify`: each migration's round trip, and every difference found. */
export function renderVerify(report: RunReport, output: Output): void {
  for (const project of report.projects) {
    output.out(`${project.project} (${project.stack}): round trip on a throwaway database`);
    if (project.error) output.err(`  error: ${project.error.message}`);
    const steps = project.verification ?? [];
    if (steps.length === 0 && !project.error) output.out("  no migrations to verify");
    for (const step of steps) {
      const mark = step.result === "verified" ? "✓" : step.result === "not-reversible" ? "-" : "✗";
      const write = step.result === "verified" || step.result === "not-reversible" ? output.out : output.err;
      write(`  ${mark} ${step.id}  ${step.result === "verified" ? "down and up agree with the schema" : step.message ?? step.result}`);
      for (const line of step.downDifferences) write(`      after down, compared with before the migration: ${line}`);
      for (const line of step.upDifferences) write(`      after up again, compared with after the migration: ${line}`);
    }
  }
}

function findingPlace(finding: LintFinding, cwd: string): string {
  const place = `${where(finding.file, finding.line, cwd)}${finding.column && !finding.renderedLine ? `:${finding.column}` : ""}`;
  return finding.renderedLine ? `${place} (line ${finding.renderedLine} of its SQL)` : place;
}

/** The lines of lint findings that count (suppressed ones are left out), each at its file:line. */
export function renderFindings(findings: LintFinding[], cwd: string): string[] {
  const lines: string[] = [];
  for (const finding of findings) {
    if (finding.suppressed) continue;
    lines.push(`  ${finding.level === "error" ? "✗ error  " : "! warning"}  ${findingPlace(finding, cwd)}  ${finding.rule}`);
    lines.push(`      ${finding.message}`);
    if (finding.statement) lines.push(`      statement: ${finding.statement}`);
    if (finding.help) lines.push(`      help: ${finding.help}`);
  }
  return lines;
}

/** Renders `lint`: each project's findings at their file:line, and what was judged harmless. */
export function renderLint(report: RunReport, output: Output, cwd: string): void {
  for (const project of report.projects) {
    const lint = project.lint;
    const what = lint ? (lint.scope === "pending" ? `${lint.migrations} pending migration(s)` : `all ${lint.migrations} migration(s) on disk, from the files alone`) : "";
    output.out(`${project.project} (${project.stack})${lint ? `: ${what}` : ""}`);
    if (project.error) {
      output.err(`  error: ${project.error.message}`);
      continue;
    }
    if (!lint) continue;
    if (lint.squawk === "missing") output.out("  Squawk is not installed for this platform: only Polymigrate's own rules ran.");
    for (const line of renderFindings(project.findings ?? [], cwd)) output.out(line);
    const harmless = lint.suppressed > 0 ? `; ${lint.suppressed} more judged harmless by the run's context (see --json)` : "";
    output.out(`  ${lint.errors} error(s), ${lint.warnings} warning(s)${harmless}`);
  }
}
