import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { MigrateError, REFUSAL_CODES, isMigrateError, redact, type RunCommand, type RunReport } from "@polymigrate/core";
import type { Output } from "../output.js";
import { renderGithubAnnotations } from "./github.js";
import { renderJunit, renderJunitError } from "./junit.js";
import { renderMarkdown, renderMarkdownError } from "./markdown.js";
import { reportRoot } from "./report-paths.js";
import { renderSarif } from "./sarif.js";

/** The report formats of `--report`. */
export const REPORT_FORMATS = ["markdown", "junit", "sarif"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** What decides where a report goes. */
export interface ReportRequest {
  format?: ReportFormat;
  /** `--report-file`, as typed. */
  file?: string;
  json: boolean;
}

/**
 * Whether the chosen report takes stdout: a `--report` with no `--report-file` (and, for Markdown, no
 * `$GITHUB_STEP_SUMMARY`). Then JUnit and SARIF are alone on stdout (the human output moves to stderr), and Markdown
 * comes after the human output. With `--json`, stdout carries the JSON alone, so such a report is a usage error.
 */
export function reportTakesStdout(request: ReportRequest, env: Record<string, string | undefined>): boolean {
  if (!request.format || request.file) return false;
  if (request.format === "markdown" && env.GITHUB_STEP_SUMMARY) return false;
  if (request.json) {
    throw new MigrateError(
      "USAGE",
      `--json prints the JSON report alone on stdout, so "--report ${request.format}" needs somewhere else to go: add --report-file <path>.`,
    );
  }
  return true;
}

/** Where the human output goes: stderr when a JUnit or SARIF report takes stdout, so that stdout stays parseable. */
export function humanOutputFor(output: Output, request: ReportRequest, env: Record<string, string | undefined>): Output {
  const machineOnStdout = request.format !== "markdown" && reportTakesStdout(request, env);
  return machineOnStdout ? { ...output, out: output.err, isTerminal: false } : output;
}

function writeFile(path: string, text: string, append: boolean): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    (append ? appendFileSync : writeFileSync)(path, text);
  } catch (error) {
    throw new MigrateError("USAGE", `Could not write the report to "${path}": ${(error as Error).message}. Check the path and its folder's permissions.`);
  }
}

/**
 * Writes what a run asked for after its human output: the `--report` (Markdown appended to `$GITHUB_STEP_SUMMARY`
 * when set, and written to `--report-file` when given; JUnit and SARIF to `--report-file`; otherwise on stdout) and,
 * under GitHub Actions (`GITHUB_ACTIONS=true`), annotations for lint findings and failures (on stdout, or on stderr when
 * stdout carries JSON, JUnit or SARIF; GitHub reads workflow commands from both). Every byte goes through `redact`.
 */
export function writeReports(
  report: RunReport,
  options: { request: ReportRequest; env: Record<string, string | undefined>; cwd: string; shellCwd: string; output: Output; version: string },
): void {
  const { request, env, output } = options;
  const root = reportRoot(options.cwd, env);
  const stdoutTaken = request.json || (request.format !== undefined && request.format !== "markdown" && reportTakesStdout(request, env));
  if (env.GITHUB_ACTIONS === "true") {
    for (const line of renderGithubAnnotations(report, root)) (stdoutTaken ? output.err : output.out)(line);
  }
  if (!request.format) return;
  const text = redact(
    request.format === "markdown"
      ? renderMarkdown(report, root)
      : request.format === "junit"
        ? renderJunit(report, root)
        : renderSarif(report, root, options.version),
  );
  if (request.file) writeFile(resolve(options.shellCwd, request.file), text, false);
  if (request.format === "markdown" && env.GITHUB_STEP_SUMMARY) writeFile(env.GITHUB_STEP_SUMMARY, `${text}\n`, true);
  if (reportTakesStdout(request, env)) output.out(request.format === "markdown" ? `\n${text.trimEnd()}` : text.trimEnd());
}

/**
 * Writes the report of a run that stopped with an error before it had one (no configuration, no URL, a URL the policy
 * refuses): the same destinations as {@link writeReports}, saying what stopped it, so that CI shows it. Never throws:
 * the error itself is what the user must see.
 */
export function writeErrorReport(
  error: unknown,
  options: { command: string; request: ReportRequest; env: Record<string, string | undefined>; cwd: string; shellCwd: string; output: Output; version: string },
): void {
  const { request, env, output } = options;
  const stopped = isMigrateError(error)
    ? { code: error.code, message: error.message }
    : { code: "UNEXPECTED", message: error instanceof Error ? error.message : String(error) };
  const outcome = isMigrateError(error) && REFUSAL_CODES.has(error.code) ? "refused" : "failed";
  try {
    const stdoutTaken = request.json || (request.format !== undefined && request.format !== "markdown" && reportTakesStdout(request, env));
    if (env.GITHUB_ACTIONS === "true") {
      const text = stopped.message.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
      (stdoutTaken ? output.err : output.out)(`::error title=migrate ${options.command} ${outcome} (${stopped.code})::${text}`);
    }
    if (!request.format) return;
    const empty: RunReport = { command: options.command as RunCommand, startedAt: new Date().toISOString(), durationMs: 0, outcome, projects: [] };
    const text = redact(
      request.format === "markdown"
        ? renderMarkdownError(options.command, outcome, stopped)
        : request.format === "junit"
          ? renderJunitError(options.command, outcome, stopped)
          : renderSarif(empty, reportRoot(options.cwd, env), options.version, stopped),
    );
    if (request.file) writeFile(resolve(options.shellCwd, request.file), text, false);
    if (request.format === "markdown" && env.GITHUB_STEP_SUMMARY) writeFile(env.GITHUB_STEP_SUMMARY, `${text}\n`, true);
    if (reportTakesStdout(request, env)) output.out(text.trimEnd());
  } catch (writeError) {
    output.err(`migrate: could not write the --report of this failed run: ${(writeError as Error).message}`);
  }
}
