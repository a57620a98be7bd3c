import { planProject } from "@polymigrate/core";
import { renderPlan } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";

/** `migrate plan`: the SQL `up` would run; changes nothing. */
export async function planCommand(context: CommandContext) {
  const report = await runEachProject("plan", context.targets(), (target) => planProject(target, { emit: context.warn }));
  if (!context.args.json) renderPlan(report, context.output, context.cwd);
  return report;
}
