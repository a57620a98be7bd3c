import {
  connect,
  describeLockHolder,
  findLockHolder,
  isMigrateError,
  loadSqlParser,
  probePooler,
  readProjectPlan,
  redact,
  type DatabaseSession,
} from "@polymigrate/core";
import type { CommandContext } from "./context.js";
import { resolveProjectUrl, type SelectedProject } from "../projects.js";

/** One check `doctor` made. */
export interface DoctorCheck {
  check: string;
  result: "ok" | "warning" | "problem";
  message: string;
  /** What to do, when the result is not ok. */
  fix?: string;
}

/** What `doctor` found for one project. */
export interface DoctorProjectReport {
  project: string;
  stack: string;
  checks: DoctorCheck[];
}

/** The report of `migrate doctor`. */
export interface DoctorReport {
  command: "doctor";
  outcome: "success" | "failed";
  projects: DoctorProjectReport[];
}

async function checkProject(context: CommandContext, selected: SelectedProject): Promise<DoctorProjectReport> {
  const { config, adapter } = selected;
  const { workspace } = context;
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck) => checks.push(check);
  add({ check: "configuration", result: "ok", message: workspace.configFile ? `from ${workspace.configFile}` : `detected a ${adapter.stack} project in ${workspace.root}` });

  try {
    const migrations = await adapter.readMigrations();
    add({ check: "migrations", result: "ok", message: `${migrations.length} on disk in ${adapter.dir}` });
  } catch (error) {
    add({ check: "migrations", result: "problem", message: errorMessage(error), fix: "Fix the migrations folder as the message says." });
  }

  let url;
  try {
    url = resolveProjectUrl(workspace, config, { allowPooledUrl: context.args.allowPooledUrl });
    const warned = url.decisions.find((decision) => decision.decision === "warned");
    add(
      warned
        ? { check: "url", result: "warning", message: warned.message, fix: `Set "${config.urlEnv ?? "DIRECT_URL"}" to the direct URL.` }
        : { check: "url", result: "ok", message: `${url.display} from "${url.source}"` },
    );
  } catch (error) {
    add({ check: "url", result: "problem", message: errorMessage(error) });
    return { project: config.name, stack: adapter.stack, checks };
  }

  let session: DatabaseSession | undefined;
  try {
    session = await connect(url.url, { source: url.source, applicationName: "polymigrate doctor" });
    add({ check: "connection", result: "ok", message: `PostgreSQL ${formatVersion(session.serverVersionNum)}` });
    const probe = await probePooler(url.url, { client: session.client, source: url.source });
    const evidence = probe.evidence.join("; ");
    if (probe.verdict === "transaction-pooler") {
      add({
        check: "pooler",
        result: "problem",
        message: `a transaction-mode pooler sits between migrate and the server (${evidence})`,
        fix: `Set "${url.source}" to the server's direct host and port, not the pooler's.`,
      });
    } else if (probe.verdict === "session-pooler") {
      add({
        check: "pooler",
        result: "warning",
        message: `a session-mode pooler sits between migrate and the server (${evidence}); migrations work through it`,
        fix: `Prefer the server's direct host and port in "${url.source}".`,
      });
    } else add({ check: "pooler", result: "ok", message: "direct connection (no pooler in the path)" });
    const holder = await findLockHolder(session);
    add(
      holder
        ? { check: "lock", result: "warning", message: `the migration lock is held by ${describeLockHolder(holder)}`, fix: `Wait for that run to finish; if it is stuck, end it with SELECT pg_terminate_backend(${holder.pid}).` }
        : { check: "lock", result: "ok", message: "the migration lock is free" },
    );
    await loadSqlParser();
    const { plan } = await readProjectPlan(adapter, session);
    const table = `${adapter.history.location.schema}.${adapter.history.location.table}`;
    if (!plan.hasHistoryTable) add({ check: "history", result: "ok", message: `no "${table}" yet: nothing applied; "migrate up" creates it` });
    else {
      const applied = plan.entries.filter((entry) => entry.state === "applied").length;
      add({ check: "history", result: "ok", message: `"${table}": ${applied} applied, ${plan.pending.length} pending` });
    }
    for (const problem of plan.problems) add({ check: `integrity: ${problem.kind}`, result: "problem", message: problem.message });
  } catch (error) {
    add({ check: session ? "database" : "connection", result: "problem", message: errorMessage(error) });
  } finally {
    await session?.close();
  }
  return { project: config.name, stack: adapter.stack, checks };
}

function formatVersion(versionNum: number): string {
  return `${Math.floor(versionNum / 10000)}.${versionNum % 10000}`;
}

function errorMessage(error: unknown): string {
  return redact(isMigrateError(error) || error instanceof Error ? error.message : String(error));
}

/** `migrate doctor`: checks every project and says what to do about each problem. */
export async function doctorCommand(context: CommandContext): Promise<DoctorReport> {
  const projects: DoctorProjectReport[] = [];
  for (const selected of context.workspace.projects) projects.push(await checkProject(context, selected));
  const hasProblem = projects.some((project) => project.checks.some((check) => check.result === "problem"));
  const report: DoctorReport = { command: "doctor", outcome: hasProblem ? "failed" : "success", projects };
  if (!context.args.json) {
    const marks = { ok: "✓", warning: "!", problem: "✗" } as const;
    for (const project of projects) {
      context.output.out(`${project.project} (${project.stack})`);
      for (const check of project.checks) {
        context.output.out(`  ${marks[check.result]} ${check.check}: ${check.message}`);
        if (check.fix) context.output.out(`      fix: ${check.fix}`);
      }
    }
    context.output.out(hasProblem ? "\nProblems found: see the fixes above." : "\nNo problems found.");
  }
  return report;
}

