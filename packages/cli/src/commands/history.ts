import { readProjectHistory, readProjectLedger } from "@polymigrate/core";
import { renderHistory, renderLedger } from "../render/human.js";
import type { CommandContext } from "./context.js";
import { runEachProject } from "./run-projects.js";

/** `migrate history`: the rows of each project's history table. */
export async function historyCommand(context: CommandContext) {
  if (context.args.ledger) {
    // The ledger is per database: every project on it sees the same runs; the human output shows each database once.
    const ledger = await runEachProject("history", context.targets(), (target) => readProjectLedger(target, { emit: context.warn }));
    if (!context.args.json) renderLedger(ledger, context.output);
    return ledger;
  }
  const report = await runEachProject("history", context.targets(), (target) => readProjectHistory(target, { emit: context.warn }));
  if (!context.args.json) renderHistory(report, context.output);
  return report;
}
