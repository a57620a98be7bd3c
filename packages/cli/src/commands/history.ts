import { readProjectHistory } from "@polymigrate/core";
import { renderHistory } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";

/** `migrate history`: the rows of each project's history table. */
export async function historyCommand(context: CommandContext) {
  const report = await runEachProject("history", context.targets(), (target) => readProjectHistory(target, { emit: context.warn }));
  if (!context.args.json) renderHistory(report, context.output);
  return report;
}
