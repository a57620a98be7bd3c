import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { REFUSAL_CODES, isMigrateError, redact, redactValue } from "@polymigrate/core";
import { parseCommandLine, renderCommandHelp, renderMainHelp } from "./args.js";
import type { CommandContext } from "./commands/context.js";
import { exitCodeOf } from "./commands/run-projects.js";
import { createOutput, type Streams } from "./output.js";
import { loadWorkspace, resolveTargets } from "./projects.js";
import { createProgressRenderer } from "./render/human.js";
import { humanOutputFor, writeErrorReport, writeReports, type ReportRequest } from "./render/reports.js";

/** Where `main` runs: its folder, environment and streams. */
export interface MainOptions extends Streams {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Aborts when the process is asked to stop (SIGINT, SIGTERM): runs stop at their next safe point and report. */
  signal?: AbortSignal;
}

// Commands load on first use: a run pays only for the code of the command it runs.
const COMMANDS = {
  status: () => import("./commands/status.js").then((module) => module.statusCommand),
  up: () => import("./commands/up.js").then((module) => module.upCommand),
  down: () => import("./commands/down.js").then((module) => module.downCommand),
  create: () => import("./commands/create.js").then((module) => module.createCommand),
  resolve: () => import("./commands/resolve.js").then((module) => module.resolveCommand),
  "draft-down": () => import("./commands/draft-down.js").then((module) => module.draftDownCommand),
  reset: () => import("./commands/reset.js").then((module) => module.resetCommand),
  verify: () => import("./commands/verify.js").then((module) => module.verifyCommand),
  plan: () => import("./commands/plan.js").then((module) => module.planCommand),
  history: () => import("./commands/history.js").then((module) => module.historyCommand),
  lint: () => import("./commands/lint.js").then((module) => module.lintCommand),
  doctor: () => import("./commands/doctor.js").then((module) => module.doctorCommand),
  push: () => import("./commands/push.js").then((module) => module.pushCommand),
  rehearse: () => import("./commands/rehearse.js").then((module) => module.rehearseCommand),
  baseline: () => import("./commands/baseline.js").then((module) => module.baselineCommand),
} as const;

function readVersion(): string {
  const file = new URL("../package.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/**
 * Runs the `migrate` command line and returns its exit code: 0 success, 1 a migration or connection failed, 2 refused
 * by a policy or bad usage. It never exits the process itself.
 *
 * @example
 * process.exitCode = await main(["status"], { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr });
 */
export async function main(argv: string[], options: MainOptions): Promise<number> {
  const output = createOutput(options);
  const isJson = argv.includes("--json");
  // Set once the command line asked for a report: a run that stops with an error still writes one, saying so.
  let reportedRun: { command: string; request: ReportRequest; cwd: string } | undefined;
  try {
    const args = parseCommandLine(argv);
    if (args.command === "version") {
      output.out(readVersion());
      return 0;
    }
    if (args.command === "help") {
      output.out(args.helpFor ? renderCommandHelp(args.helpFor) : renderMainHelp(readVersion()));
      return 0;
    }
    const cwd = resolve(options.cwd, args.cwd ?? ".");
    const reportRequest: ReportRequest = { json: args.json, ...(args.report ? { format: args.report } : {}), ...(args.reportFile ? { file: args.reportFile } : {}) };
    // A JUnit or SARIF report on stdout moves the human output to stderr, as --json does.
    const humanOutput = humanOutputFor(output, reportRequest, options.env);
    reportedRun = { command: args.command, request: reportRequest, cwd };
    const workspace = await loadWorkspace({
      cwd,
      env: options.env,
      ...(args.config ? { configPath: args.config } : {}),
      ...(args.project ? { project: args.project } : {}),
    });
    const context: CommandContext = {
      args,
      cwd,
      output: humanOutput,
      workspace,
      targets: () => resolveTargets(workspace, { allowPooledUrl: args.allowPooledUrl }),
      ...(options.signal ? { signal: options.signal } : {}),
      emit: args.json ? () => {} : createProgressRenderer(humanOutput),
      warn: (event) => {
        if (event.type === "notice" && event.level === "warning") output.err(`warning: ${event.project ? `${event.project}: ` : ""}${event.message}`);
      },
    };
    const command = await COMMANDS[args.command]();
    const report = await command(context);
    if (args.json) output.out(JSON.stringify(redactValue(report), null, 2));
    if ("startedAt" in report) {
      writeReports(report, { request: reportRequest, env: options.env, cwd, shellCwd: options.cwd, output, version: readVersion() });
    } else if (args.report) output.err(`migrate: "migrate ${args.command}" writes no --report ${args.report}; use --json.`);
    return exitCodeOf(report);
  } catch (error) {
    if (reportedRun) writeErrorReport(error, { ...reportedRun, env: options.env, shellCwd: options.cwd, output, version: readVersion() });
    return reportError(error, output, isJson);
  }
}

// The single top-level catch: a MigrateError is a message for the user; anything else is a bug, said as such.
function reportError(error: unknown, output: ReturnType<typeof createOutput>, isJson: boolean): number {
  if (isMigrateError(error)) {
    const exitCode = REFUSAL_CODES.has(error.code) ? 2 : 1;
    if (isJson) {
      output.out(JSON.stringify({ outcome: exitCode === 2 ? "refused" : "failed", error: redactValue(error.toJSON()) }, null, 2));
    }
    output.err(`migrate: ${error.message}`);
    return exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  output.err(`migrate: unexpected error (a bug in migrate; please report it with this output):\n${redact(message)}`);
  return 1;
}
