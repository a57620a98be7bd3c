import { inspectProject } from "@polymigrate/core";
import { renderStatus } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";

/** `migrate status`: one table for every project; changes nothing. */
export async function statusCommand(context: CommandContext) {
  const report = await runEachProject("status", context.targets(), (target) => inspectProject(target, { emit: context.warn }));
  if (!context.args.json) renderStatus(report, context.output, context.cwd);
  return report;
}
