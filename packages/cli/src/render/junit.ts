import { hostname } from "node:os";
import type { LintFinding, MigrationReport, ProjectReport, RunReport, StatusEntry } from "@polymigrate/core";
import { reportPath } from "./report-paths.js";

/** Escapes text for an XML attribute or element, dropping characters XML 1.0 cannot carry. */
function xml(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function attributes(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${xml(String(value))}"`)
    .join("");
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

// The JUnit schema reporters check against (Jenkins') has no file or line on a testcase: they go in the text.
interface TestCase {
  name: string;
  classname: string;
  timeMs?: number;
  result?: { kind: "failure" | "error" | "skipped"; message: string; type?: string; body?: string };
  systemOut?: string;
}

function migrationCase(project: ProjectReport, migration: MigrationReport, root: string): TestCase {
  const error = migration.error;
  const file = error?.file ? reportPath(error.file, root) : migration.file ? reportPath(migration.file, root) : undefined;
  const testCase: TestCase = {
    name: migration.id,
    classname: project.project,
    ...(migration.durationMs === undefined ? {} : { timeMs: migration.durationMs }),
  };
  if (migration.outcome === "failed") {
    const body = [
      error?.message ?? "failed",
      error?.sqlState ? `SQLSTATE ${error.sqlState}` : undefined,
      file ? `at ${file}${error?.line ? `:${error.line}` : ""}` : undefined,
      error?.statement ? `statement: ${error.statement}` : undefined,
      error?.detail ? `detail: ${error.detail}` : undefined,
      error?.hint ? `hint: ${error.hint}` : undefined,
      error?.stderrTail ? `stderr:\n${error.stderrTail}` : undefined,
    ].filter((line): line is string => line !== undefined);
    testCase.result = {
      kind: "failure",
      message: `${error?.message ?? "failed"}${error?.sqlState ? ` (SQLSTATE ${error.sqlState})` : ""}${file ? ` at ${file}${error?.line ? `:${error.line}` : ""}` : ""}`,
      type: error?.sqlState ? `SQLSTATE ${error.sqlState}` : "migration-failed",
      body: body.join("\n"),
    };
  } else if (migration.outcome === "skipped" || migration.outcome === "pending") {
    testCase.result = { kind: "skipped", message: migration.outcome === "skipped" ? "not run: an earlier migration failed" : "pending: not applied by this run" };
  }
  return testCase;
}

// `status`: one case per migration known on disk or in the history, by its state.
function statusCase(project: ProjectReport, entry: StatusEntry): TestCase {
  const testCase: TestCase = { name: entry.id, classname: project.project };
  const problem = project.problems.find((candidate) => candidate.id === entry.id);
  if (entry.state === "pending") testCase.result = { kind: "skipped", message: "pending: not applied yet" };
  else if (entry.state !== "applied") {
    const message = problem?.message ?? `${entry.state} in the history table`;
    testCase.result = { kind: problem?.level === "warning" ? "skipped" : "failure", message, type: entry.state, body: message };
  }
  return testCase;
}

function findingCase(project: ProjectReport, finding: LintFinding, root: string): TestCase {
  const file = reportPath(finding.file, root);
  const where = `${file}:${finding.line}`;
  const testCase: TestCase = { name: `${finding.rule} at ${where}`, classname: `${project.project}.lint.${finding.migration}` };
  const body = [finding.message, finding.help ? `help: ${finding.help}` : undefined, finding.statement ? `statement: ${finding.statement}` : undefined, `at ${where}`]
    .filter((line): line is string => line !== undefined)
    .join("\n");
  if (finding.suppressed) testCase.result = { kind: "skipped", message: `judged harmless: ${finding.suppressed}` };
  else if (finding.level === "error") testCase.result = { kind: "failure", message: `${finding.message} (${where})`, type: finding.rule, body };
  else testCase.systemOut = `warning: ${body}`;
  return testCase;
}

function projectErrorCase(project: ProjectReport): TestCase {
  const error = project.error!;
  return {
    name: `migrate ${project.project}`,
    classname: project.project,
    result: { kind: project.outcome === "refused" ? "failure" : "error", message: error.message, type: error.code, body: error.message },
  };
}

function renderCase(testCase: TestCase): string[] {
  const open = `    <testcase${attributes({
    name: testCase.name,
    classname: testCase.classname,
    time: seconds(testCase.timeMs),
  })}`;
  const children: string[] = [];
  const result = testCase.result;
  if (result) {
    const resultAttributes = attributes({ message: result.message, type: result.type });
    children.push(result.body ? `      <${result.kind}${resultAttributes}>${xml(result.body)}</${result.kind}>` : `      <${result.kind}${resultAttributes}/>`);
  }
  if (testCase.systemOut) children.push(`      <system-out>${xml(testCase.systemOut)}</system-out>`);
  return children.length === 0 ? [`${open}/>`] : [`${open}>`, ...children, "    </testcase>"];
}

/**
 * The run as JUnit XML for CI test reporters: one `testsuite` per project, one `testcase` per migration (classname the
 * project, name the migration id; a `failure` with the message, SQLSTATE and file:line when it failed; `skipped` when
 * it did not run) and one per lint finding (a `failure` for an error, `system-out` for a warning, `skipped` for one
 * judged harmless). A project that failed before any migration ran is one `error` (or `failure` when refused) case.
 */
export function renderJunit(report: RunReport, root: string): string {
  const host = hostname();
  const suites = report.projects.map((project, index) => {
    const cases = [
      ...project.migrations.map((migration) => migrationCase(project, migration, root)),
      ...(project.migrations.length === 0 ? (project.status ?? []).map((entry) => statusCase(project, entry)) : []),
      ...(project.findings ?? []).map((finding) => findingCase(project, finding, root)),
    ];
    if (project.error && !cases.some((testCase) => testCase.result?.kind === "failure")) cases.unshift(projectErrorCase(project));
    const countOf = (kind: string) => cases.filter((testCase) => testCase.result?.kind === kind).length;
    const open = `  <testsuite${attributes({
      name: `migrate ${report.command}: ${project.project}`,
      tests: cases.length,
      failures: countOf("failure"),
      errors: countOf("error"),
      skipped: countOf("skipped"),
      time: seconds(project.durationMs),
      timestamp: report.startedAt.replace(/\.\d+Z$/, "").replace(/Z$/, ""),
      hostname: host,
      id: index,
      package: project.stack,
    })}>`;
    return { cases, lines: [open, ...cases.flatMap(renderCase), "  </testsuite>"] };
  });
  const all = suites.flatMap((suite) => suite.cases);
  const total = (kind: string) => all.filter((testCase) => testCase.result?.kind === kind).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes({ name: `migrate ${report.command}`, tests: all.length, failures: total("failure"), errors: total("error"), time: seconds(report.durationMs) })}>`,
    ...suites.flatMap((suite) => suite.lines),
    "</testsuites>",
    "",
  ].join("\n");
}

/** A run that stopped before it had a report: one test case, a failure when refused, an error otherwise. */
export function renderJunitError(command: string, outcome: "failed" | "refused", error: { code: string; message: string }): string {
  const kind = outcome === "refused" ? "failure" : "error";
  const counts = { tests: 1, failures: kind === "failure" ? 1 : 0, errors: kind === "error" ? 1 : 0 };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes({ name: `migrate ${command}`, ...counts, time: seconds(0) })}>`,
    `  <testsuite${attributes({ name: `migrate ${command}`, ...counts, skipped: 0, time: seconds(0), hostname: hostname() })}>`,
    `    <testcase${attributes({ name: `migrate ${command}`, classname: "migrate", time: seconds(0) })}>`,
    `      <${kind}${attributes({ message: error.message, type: error.code })}>${xml(error.message)}</${kind}>`,
    "    </testcase>",
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
