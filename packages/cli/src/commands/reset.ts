import { MigrateError, databaseNameOf, requireProductionConfirmation, resetProject, type ProjectTarget } from "@polymigrate/core";
import { renderProjectSummary } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";
import { askOnTerminal } from "../prompt.js";
import { projectSafety } from "../safety.js";

// Asked once for the whole run, before any connection: y/N as `prisma migrate reset` asks, naming each database and
// where it is. A production project asks more (--confirm <database>), checked first so that it is never asked twice.
async function confirmReset(context: CommandContext, targets: ProjectTarget[]): Promise<void> {
  const { args } = context;
  for (const target of targets) {
    requireProductionConfirmation({ project: target.name, url: target.url.url, mark: target.production, command: "reset", confirm: args.confirm });
  }
  if (args.force) return;
  const databases = [...new Set(targets.map((target) => `"${databaseNameOf(target.url.url)}" (${target.url.display})`))];
  const what = `"migrate reset" drops every schema of ${databases.length === 1 ? "database" : "databases"} ${databases.join(", ")} with all its data, then applies every migration again`;
  if (process.stdin.isTTY !== true) {
    throw new MigrateError("USAGE", `${what}: off a terminal, it needs --force. Nothing was dropped. Run it on a terminal to answer the prompt, or add --force.`);
  }
  if (!(await askOnTerminal(`${what}. Reset?`))) {
    throw new MigrateError("USAGE", "Reset not confirmed. Nothing was dropped. Answer y to reset, or pass --force.");
  }
}

/**
 * `migrate reset`: development only; drops the database's schemas and applies every migration again, after a y/N on a
 * terminal (off one, only with `--force`).
 */
export async function resetCommand(context: CommandContext) {
  const { args } = context;
  const targets = context.targets();
  await confirmReset(context, targets);
  return runEachProject(
    "reset",
    targets,
    (target) =>
      resetProject(target, {
        emit: context.emit,
        safety: projectSafety(context.workspace, target.name, context.args),
        ...(args.confirm === undefined ? {} : { confirm: args.confirm }),
        ...(args.lockWaitMs === undefined ? {} : { lockWaitMs: args.lockWaitMs }),
      }),
    (project) => {
      if (!args.json) renderProjectSummary(project, "up", context.output, context.cwd);
    },
  );
}
