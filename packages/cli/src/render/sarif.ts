import type { LintFinding, RunReport } from "@polymigrate/core";
import { reportPath } from "./report-paths.js";

/** The parts of SARIF 2.1.0 that `renderSarif` writes. */
export interface SarifLog {
  $schema: string;
  version: "2.1.0";
  runs: Array<{
    tool: { driver: { name: string; version: string; rules: SarifRule[] } };
    originalUriBaseIds: Record<string, { uri: string }>;
    results: SarifResult[];
    /** Set when the run stopped with an error before it could lint: SARIF's way to say the tool did not finish. */
    invocations?: Array<{
      executionSuccessful: boolean;
      toolExecutionNotifications: Array<{ level: "error"; message: { text: string }; descriptor: { id: string } }>;
    }>;
  }>;
}

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  help?: { text: string };
  helpUri?: string;
  properties: { source: LintFinding["source"] };
}

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: "error" | "warning";
  message: { text: string };
  locations: Array<{
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId: "SRCROOT" };
      region: { startLine: number; startColumn?: number };
    };
  }>;
  partialFingerprints: { primaryLocationLineHash: string };
  suppressions?: Array<{ kind: "external"; justification: string }>;
  properties: { project: string; migration: string; renderedLine?: number };
}

// Squawk documents each of its rules at this address plus the rule's name.
const SQUAWK_RULES = "https://squawkhq.com/docs/";

/**
 * The lint findings of a run as SARIF 2.1.0 (for GitHub code scanning and other SARIF viewers): one result per
 * finding with its rule, level, message and location (file relative to `root`, the repository root, and 1-based
 * line). Findings judged harmless by the run's context stay in the log, marked as suppressed with the reason.
 */
export function renderSarif(report: RunReport, root: string, version: string, stoppedBy?: { code: string; message: string }): string {
  const rules: SarifRule[] = [];
  const ruleIndex = new Map<string, number>();
  const results: SarifResult[] = [];
  for (const project of report.projects) {
    for (const finding of project.findings ?? []) {
      if (!ruleIndex.has(finding.rule)) {
        ruleIndex.set(finding.rule, rules.length);
        rules.push({
          id: finding.rule,
          name: finding.rule,
          shortDescription: { text: finding.message },
          ...(finding.help ? { help: { text: finding.help } } : {}),
          ...(finding.source === "squawk" ? { helpUri: `${SQUAWK_RULES}${finding.rule}` } : {}),
          properties: { source: finding.source },
        });
      }
      const uri = reportPath(finding.file, root);
      results.push({
        ruleId: finding.rule,
        ruleIndex: ruleIndex.get(finding.rule)!,
        level: finding.level,
        message: { text: `${finding.message}${finding.help ? ` ${finding.help}` : ""}` },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri, uriBaseId: "SRCROOT" },
              region: { startLine: finding.line, ...(finding.column && !finding.renderedLine ? { startColumn: finding.column } : {}) },
            },
          },
        ],
        partialFingerprints: { primaryLocationLineHash: `${finding.rule}:${uri}:${finding.statement ?? finding.line}` },
        ...(finding.suppressed ? { suppressions: [{ kind: "external" as const, justification: finding.suppressed }] } : {}),
        properties: { project: project.project, migration: finding.migration, ...(finding.renderedLine ? { renderedLine: finding.renderedLine } : {}) },
      });
    }
  }
  const log: SarifLog = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "Polymigrate", version, rules } },
        originalUriBaseIds: { SRCROOT: { uri: `${pathToFileUri(root)}/` } },
        results,
        ...(stoppedBy
          ? {
              invocations: [
                {
                  executionSuccessful: false,
                  toolExecutionNotifications: [{ level: "error" as const, message: { text: stoppedBy.message }, descriptor: { id: stoppedBy.code } }],
                },
              ],
            }
          : {}),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}

function pathToFileUri(path: string): string {
  return `file://${path.split("\\").join("/").split("/").map(encodeURIComponent).join("/")}`.replace(/\/$/, "");
}
