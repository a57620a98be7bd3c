import { verifyProject } from "@polymigrate/core";
import { renderVerify } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";

/** `migrate verify`: the round trip of every migration, on a throwaway database. */
export async function verifyCommand(context: CommandContext) {
  const report = await runEachProject("verify", context.targets(), (target) => verifyProject(target));
  if (!context.args.json) renderVerify(report, context.output);
  return report;
}
