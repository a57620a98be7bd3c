import type { LintFinding, RunReport } from "@polymigrate/core";
import { reportPath } from "./report-paths.js";

// GitHub's workflow command escaping: data escapes %, CR and LF; property values also escape : and ,.
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

function command(level: "error" | "warning", message: string, properties: Record<string, string | number | undefined>): string {
  const list = Object.entries(properties)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${escapeProperty(String(value))}`)
    .join(",");
  return `::${level}${list ? ` ${list}` : ""}::${escapeData(message)}`;
}

function findingCommand(project: string, finding: LintFinding, root: string): string {
  return command(finding.level, `${finding.message}${finding.help ? ` ${finding.help}` : ""}`, {
    file: reportPath(finding.file, root),
    line: finding.line,
    col: finding.column && !finding.renderedLine ? finding.column : undefined,
    title: `${finding.rule} (${project})`,
  });
}

/**
 * GitHub Actions annotations for a run: `::error`/`::warning` workflow commands for each lint finding that counts, each
 * failed migration (at its file:line, with its SQLSTATE), each project error and each policy warning. Paths are
 * relative to `root` (the workspace), as GitHub expects.
 */
export function renderGithubAnnotations(report: RunReport, root: string): string[] {
  const lines: string[] = [];
  for (const project of report.projects) {
    for (const migration of project.migrations) {
      const error = migration.error;
      if (migration.outcome !== "failed" || !error) continue;
      lines.push(
        command("error", `${error.message}${error.sqlState ? ` (SQLSTATE ${error.sqlState})` : ""}`, {
          file: error.file ? reportPath(error.file, root) : undefined,
          line: error.file ? error.line : undefined,
          title: `migration ${migration.id} failed (${project.project})`,
        }),
      );
    }
    if (project.error && !project.migrations.some((migration) => migration.outcome === "failed")) {
      lines.push(command("error", project.error.message, { title: `migrate ${report.command}: ${project.project} ${project.outcome}` }));
    }
    for (const finding of project.findings ?? []) if (!finding.suppressed) lines.push(findingCommand(project.project, finding, root));
    if (project.drift) {
      const changes = project.drift.differences.map((difference) => difference.message).join("; ");
      lines.push(command("warning", `The schema changed outside migrate since ${project.drift.since}${changes ? `: ${changes}` : ""}. Apply a migration for it, or accept it with "migrate baseline".`, { title: `schema drift (${project.project})` }));
    }
    for (const policy of project.policies) {
      if (policy.decision === "warned") lines.push(command("warning", policy.message, { title: `${policy.policy} (${project.project})` }));
    }
  }
  return lines;
}
