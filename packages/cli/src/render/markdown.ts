import type { LintFinding, MigrationReport, ProjectReport, RunReport } from "@polymigrate/core";
import { reportPath } from "./report-paths.js";

const OUTCOME_MARK: Record<string, string> = { success: "✅ success", failed: "❌ failed", refused: "⛔ refused" };
const MIGRATION_MARK: Record<string, string> = {
  applied: "✅ applied",
  failed: "❌ failed",
  skipped: "⏭️ not run",
  pending: "⏳ pending",
  "rolled-back": "↩️ undone",
};

/** Running text on one line; `<` escaped so that no text becomes HTML. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, " ").replace(/</g, "&lt;").trim();
}

/** An inline code span that survives backticks in its text (CommonMark: a longer fence and padding spaces). */
export function code(text: string): string {
  const flat = text.replace(/\r?\n/g, " ");
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A fenced code block whose fence is longer than any backtick run inside. */
function block(text: string, language: string): string[] {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return [`${fence}${language}`, text.trimEnd(), fence];
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((row) => `| ${row.map((value) => value.replace(/\|/g, "\\|")).join(" | ")} |`)];
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function place(file: string | undefined, line: number | undefined, root: string): string | undefined {
  if (!file) return undefined;
  const path = reportPath(file, root);
  return line ? `${path}:${line}` : path;
}

function activeFindings(project: ProjectReport): LintFinding[] {
  return (project.findings ?? []).filter((finding) => !finding.suppressed);
}

// For `status`, whose report lists states rather than outcomes, applied and pending come from the states.
function count(project: ProjectReport, outcome: MigrationReport["outcome"]): number {
  if (project.migrations.length === 0 && project.status && (outcome === "applied" || outcome === "pending")) {
    return project.status.filter((entry) => entry.state === outcome).length;
  }
  return project.migrations.filter((migration) => migration.outcome === outcome).length;
}

function statusEntriesSection(project: ProjectReport): string[] {
  const entries = project.migrations.length === 0 ? (project.status ?? []) : [];
  if (entries.length === 0) return [];
  const rows = entries.map((entry) => [
    code(entry.id),
    `${entry.state === "applied" ? "✅" : entry.state === "pending" ? "⏳" : "❌"} ${entry.state}${entry.isOutOfOrder ? " (out of order)" : ""}`,
    entry.appliedAt ? code(entry.appliedAt) : "–",
  ]);
  return ["#### Migrations", "", ...table(["Migration", "State", "Applied at"], rows), ""];
}

// The columns that say something for this command: "Undone" only for down, "Lint" only when the lint ran.
function statusTable(report: RunReport): string[] {
  const hasUndone = report.command === "down" || report.projects.some((project) => count(project, "rolled-back") > 0);
  const hasLint = report.projects.some((project) => project.findings !== undefined);
  const header = ["Project", "Stack", "Database", "Outcome", "Applied", "Failed", report.command === "status" ? "Pending" : "Not run"];
  if (hasUndone) header.push("Undone");
  if (hasLint) header.push("Lint");
  header.push("Time");
  const rows = report.projects.map((project) => {
    const findings = activeFindings(project);
    const errors = findings.filter((finding) => finding.level === "error").length;
    const row = [
      cell(project.project),
      code(project.stack),
      project.database ? code(project.database) : "–",
      OUTCOME_MARK[project.outcome] ?? project.outcome,
      String(count(project, "applied")),
      String(count(project, "failed")),
      String(count(project, "skipped") + count(project, "pending")),
    ];
    if (hasUndone) row.push(String(count(project, "rolled-back")));
    if (hasLint) row.push(project.findings === undefined ? "–" : `${errors} error(s), ${findings.length - errors} warning(s)`);
    row.push(duration(project.durationMs));
    return row;
  });
  return table(header, rows);
}

// A rehearsal's own table says more about the same migrations (and they were applied to the copy only).
function migrationsSection(project: ProjectReport): string[] {
  if (project.migrations.length === 0 || project.rehearsal) return [];
  const rows = project.migrations.map((migration) => [
    code(migration.id),
    MIGRATION_MARK[migration.outcome] ?? migration.outcome,
    duration(migration.durationMs),
    migration.transactional === false ? "no" : migration.transactional ? "yes" : "–",
    migration.durationMs === undefined ? "–" : String(migration.attempts ?? 1),
  ]);
  return ["#### Migrations", "", ...table(["Migration", "Outcome", "Time", "In a transaction", "Attempts"], rows), ""];
}

function failuresSection(project: ProjectReport, root: string): string[] {
  const lines: string[] = [];
  for (const migration of project.migrations) {
    const error = migration.error;
    if (!error) continue;
    lines.push(`#### ❌ ${code(migration.id)} failed`, "");
    lines.push(`- **Error:** ${cell(error.message)}`);
    if (error.sqlState) lines.push(`- **SQLSTATE:** ${code(error.sqlState)}`);
    const at = place(error.file, error.line, root);
    if (at) lines.push(`- **At:** ${code(at)}`);
    if (error.detail) lines.push(`- **Detail:** ${cell(error.detail)}`);
    if (error.hint) lines.push(`- **Hint:** ${cell(error.hint)}`);
    if (migration.transactional === false && error.statementsApplied) {
      lines.push(`- **Left applied:** the first ${error.statementsApplied} statement(s); this migration ran outside a transaction.`);
    } else {
      lines.push("- **Rolled back:** nothing of this migration is applied.");
    }
    lines.push("");
    if (error.statement) lines.push(...block(error.statement, "sql"), "");
    if (error.stderrTail) lines.push(...block(error.stderrTail, "text"), "");
  }
  return lines;
}

function findingsSection(project: ProjectReport, root: string): string[] {
  const findings = activeFindings(project);
  const suppressed = (project.findings ?? []).length - findings.length;
  if (project.findings === undefined || (findings.length === 0 && suppressed === 0)) return [];
  const lines = ["#### Lint findings", ""];
  if (findings.length > 0) {
    const rows = findings.map((finding) => [
      finding.level === "error" ? "❌ error" : "⚠️ warning",
      code(finding.rule),
      code(place(finding.file, finding.line, root) ?? finding.migration),
      cell(`${finding.message}${finding.help ? ` ${finding.help}` : ""}`),
    ]);
    lines.push(...table(["Level", "Rule", "Where", "Message"], rows), "");
  } else {
    lines.push("No finding counts.", "");
  }
  if (suppressed > 0) lines.push(`${suppressed} more judged harmless by the run's context (see \`--json\`).`, "");
  return lines;
}

function driftSection(project: ProjectReport): string[] {
  const drift = project.drift;
  if (!drift) return [];
  const rows = drift.differences.map((difference) => [difference.change, difference.kind, code(difference.name), cell(difference.message)]);
  return [
    "#### ⚠️ Schema changed outside migrate",
    "",
    `Since ${code(drift.since)} (${code(`migrate ${drift.command}`)} of ${cell(drift.project)}). Apply a migration for it, or accept it with ${code("migrate baseline")}.`,
    "",
    ...(rows.length > 0 ? [...table(["Change", "Kind", "Name", "What"], rows), ""] : []),
  ];
}

function rehearsalSection(project: ProjectReport): string[] {
  const rehearsal = project.rehearsal;
  if (!rehearsal) return [];
  const rows = rehearsal.migrations.map((migration) => [
    code(migration.id),
    MIGRATION_MARK[migration.outcome] ?? migration.outcome,
    duration(migration.durationMs),
    migration.locks.length === 0 ? "–" : [...new Set(migration.locks.map((lock) => `${lock.mode} on ${lock.relation}`))].map(code).join(", "),
    migration.tablesRewritten.length === 0 ? "–" : migration.tablesRewritten.map(code).join(", "),
    migration.rowsChanged.length === 0
      ? "–"
      : migration.rowsChanged.map((rows) => `${code(rows.table)} +${rows.inserted} ~${rows.updated} −${rows.deleted}`).join(", "),
  ]);
  const copy = `${code(rehearsal.copy)} (${rehearsal.method === "template" ? "a template copy" : "pg_dump | pg_restore"}${rehearsal.withData ? "" : ", schema only"}, dropped after the run)`;
  return [
    "#### Rehearsal",
    "",
    `On ${copy}; the target was not changed.`,
    "",
    ...(rows.length > 0 ? [...table(["Migration", "Outcome", "Time", "Locks", "Rewrote", "Rows changed"], rows), ""] : []),
  ];
}

function verificationSection(project: ProjectReport): string[] {
  const steps = project.verification;
  if (!steps || steps.length === 0) return [];
  const rows = steps.map((step) => [
    code(step.id),
    step.result === "verified" ? "✅ verified" : step.result === "not-reversible" ? "– not reversible" : `❌ ${step.result}`,
    cell([...step.downDifferences.map((line) => `after down: ${line}`), ...step.upDifferences.map((line) => `after up again: ${line}`), ...(step.message && step.result !== "verified" ? [step.message] : [])].join("; ") || "–"),
  ]);
  return ["#### Round trip (down, then up again)", "", ...table(["Migration", "Result", "Differences"], rows), ""];
}

function policiesSection(project: ProjectReport): string[] {
  const notable = project.policies.filter((policy) => policy.decision !== "allowed");
  if (notable.length === 0) return [];
  return [
    "#### Policies",
    "",
    ...notable.map((policy) => `- **${policy.decision === "refused" ? "⛔ refused" : "⚠️ warned"}** (${code(policy.policy)}): ${cell(policy.message)}`),
    "",
  ];
}

function projectSection(project: ProjectReport, root: string): string[] {
  const lines = [`### ${cell(project.project)} (${project.stack})`, ""];
  if (project.error) {
    lines.push(`> **${project.outcome === "refused" ? "Refused" : "Error"}** (${code(project.error.code)}): ${cell(project.error.message)}`, "");
  }
  if (project.restorePoint) {
    const lsn = project.restorePoint.lsn ? ` (WAL LSN ${code(project.restorePoint.lsn)})` : "";
    lines.push(`**Restore point:** ${code(project.restorePoint.time)}${lsn}. ${cell(project.restorePoint.howTo)}`, "");
  }
  if (project.snapshot) lines.push(`**Snapshot:** ${code(project.snapshot.id)} (${project.snapshot.mode}).${project.snapshot.howTo ? ` ${cell(project.snapshot.howTo)}` : ""}`, "");
  lines.push(
    ...migrationsSection(project),
    ...statusEntriesSection(project),
    ...rehearsalSection(project),
    ...verificationSection(project),
    ...failuresSection(project, root),
    ...driftSection(project),
    ...findingsSection(project, root),
    ...policiesSection(project),
  );
  for (const problem of project.problems) lines.push(`- ⚠️ ${cell(problem.message)}`);
  if (project.problems.length > 0) lines.push("");
  if (lines.length === 2) lines.push("Nothing to do.", "");
  return lines;
}

/**
 * The run as Markdown for people (a pull request comment, GitHub's job summary): a status table of the projects, then
 * per project what ran with its timing and outcome, each failure at its file:line with its SQLSTATE, the lint findings
 * and the policies that warned or refused. Paths are relative to `root`.
 */
export function renderMarkdown(report: RunReport, root: string): string {
  const lines = [
    `## \`migrate ${report.command}\`: ${OUTCOME_MARK[report.outcome] ?? report.outcome}`,
    "",
    `Started ${code(report.startedAt)}, took ${duration(report.durationMs)}.`,
    "",
    ...statusTable(report),
    "",
  ];
  for (const project of report.projects) lines.push(...projectSection(project, root));
  return `${lines.join("\n").trimEnd()}\n`;
}

/** A run that stopped before it had a report (no configuration, no URL, a refused option): what stopped it. */
export function renderMarkdownError(command: string, outcome: "failed" | "refused", error: { code: string; message: string }): string {
  return [
    `## \`migrate ${command}\`: ${OUTCOME_MARK[outcome]}`,
    "",
    `> **${outcome === "refused" ? "Refused" : "Error"}** (${code(error.code)}): ${cell(error.message)}`,
    "",
  ].join("\n");
}
