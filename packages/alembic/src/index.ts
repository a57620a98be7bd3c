import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  MigrateError,
  envNameSchema,
  parseStackSettings,
  filePolicyOf,
  type AdapterFactory,
  type AdapterOptions,
  type IntegrityProblem,
  type Migration,
  type Plan,
  type StackAdapter,
} from "@polymigrate/core";
import { z } from "zod";
import { findPython, pythonCandidates, type AlembicTool } from "./alembic-command.js";
import { createAlembicRevision } from "./alembic-create.js";
import { createAlembicHistory } from "./alembic-history.js";
import { ancestorsOf, readAlembicProject, readRevisionGraph, toMigrations, type RevisionGraph } from "./alembic-layout.js";
import { compareWithAlembic } from "./alembic-inspect.js";
import { createAlembicRunner } from "./alembic-run.js";

export { readAlembicProject, readRevisionGraph, parseRevisionFile, ancestorsOf, toMigrations } from "./alembic-layout.js";
export type { AlembicProject, AlembicRevision, RevisionGraph } from "./alembic-layout.js";
export { createAlembicHistory, headsAfterApplying, headsAfterRollingBack, readCurrentRevisions } from "./alembic-history.js";
export { findAlembic, findPython, runAlembic, type AlembicTool, type AlembicToolSettings } from "./alembic-command.js";
export { parseStepLine, splitOfflineSql, createAlembicRunner, type AlembicRunnerOptions } from "./alembic-run.js";
export { startAlembicHelper, parseHelperResponse, type AlembicHelper, type HelperRequest, type HelperResponse } from "./alembic-helper.js";
export { compareWithAlembic, inspectWithAlembic, helperScript, type AlembicInspection } from "./alembic-inspect.js";

/** Settings of an Alembic project (`settings` in migrate.config). */
export interface AlembicStackSettings {
  /** The Alembic configuration, relative to the project folder; default `alembic.ini`. */
  config?: string;
  /** Its section (`alembic -n`); default `alembic`. */
  section?: string;
  /** The Python that runs Alembic (`<python> -m alembic`); default: the project's virtualenv, else `python3`. */
  python?: string;
  /** An `alembic` executable to run instead of `<python> -m alembic`. */
  alembic?: string;
  /** The variable the project's env.py reads the URL from; default `DIRECT_URL`. */
  urlEnv?: string;
  /** Alembic's version table, if env.py changes it; default `alembic_version`. */
  versionTable?: string;
  /** Its schema, if env.py sets `version_table_schema`; default `public`. */
  versionTableSchema?: string;
}

const settingSchema = (description: string) => z.string().min(1).optional().meta({ description });

/** The schema of an Alembic project's `settings`: checked before any work, published in migrate.schema.json. */
export const alembicSettingsSchema: z.ZodType<AlembicStackSettings> = z.strictObject({
  config: settingSchema("The Alembic configuration, relative to the project folder; default alembic.ini."),
  section: settingSchema("Its section (alembic -n); default alembic."),
  python: settingSchema("The Python that runs Alembic (<python> -m alembic); default: the project's virtualenv, else python3."),
  alembic: settingSchema("An alembic executable to run instead of <python> -m alembic."),
  urlEnv: envNameSchema.optional().meta({ description: "The variable the project's env.py reads the URL from; default DIRECT_URL." }),
  versionTable: settingSchema("Alembic's version table, if env.py changes it; default alembic_version."),
  versionTableSchema: settingSchema("Its schema, if env.py sets version_table_schema; default public."),
});

function describeHeads(graph: RevisionGraph): string {
  return graph.heads
    .map((head) => {
      const message = graph.byId.get(head)?.message;
      return message ? `"${head}" (${message})` : `"${head}"`;
    })
    .join(" and ");
}

/**
 * The Alembic stack: revisions are Python code, so Alembic itself runs them (one Python helper per run, one revision
 * per step through Alembic's own API, with the URL in the child's `DIRECT_URL`), inside the core's lock and report. `status` reads the
 * revision files and `alembic_version` directly, without starting Python.
 *
 * @example
 * const adapter = createAlembicAdapter({ dir: "services/api" });
 */
export function createAlembicAdapter(options: AdapterOptions & { settings?: AlembicStackSettings }): StackAdapter {
  const dir = resolve(options.dir);
  const settings = parseStackSettings(alembicSettingsSchema, options.settings, "alembic");
  const urlEnv = settings.urlEnv ?? "DIRECT_URL";
  const readProject = () => readAlembicProject(dir, { ...(settings.config ? { config: settings.config } : {}), ...(settings.section ? { section: settings.section } : {}), ...filePolicyOf(options) });
  const readGraph = () => readRevisionGraph(readProject());
  // Both searched on first use only (never by `status`); a failed search is not kept, so the next command looks again.
  let python: Promise<string> | undefined;
  const findProjectPython = () => {
    python ??= findPython(dir, settings);
    python.catch(() => (python = undefined));
    return python;
  };
  const findTool = async (): Promise<AlembicTool> =>
    settings.alembic ? { command: settings.alembic, prefix: [] } : { command: await findProjectPython(), prefix: ["-m", "alembic"] };
  const history = createAlembicHistory(
    { schema: settings.versionTableSchema ?? "public", table: settings.versionTable ?? "alembic_version" },
    readGraph,
  );
  const runner = createAlembicRunner({
    project: readProject,
    urlEnv,
    pythons: () => pythonCandidates(dir, settings),
    python: findProjectPython,
    verify(inspection) {
      const project = readProject();
      const differences = compareWithAlembic(readRevisionGraph(project), inspection);
      if (differences.length > 0) {
        throw new MigrateError(
          "MIGRATIONS_INVALID",
          `migrate read the revisions of "${project.iniFile}" differently from Alembic: ${differences.join("; ")}. Write "revision" and "down_revision" as plain literals at the top level of each file, as Alembic's template does. Nothing was run.`,
          { details: { differences } },
        );
      }
    },
  });

  return {
    stack: "alembic",
    dir,
    capabilities: { rollback: "native", execution: "native", canCreate: true },
    history,
    native: runner,
    readMigrations: async () => toMigrations(readGraph()),
    async createMigration(createOptions) {
      return createAlembicRevision(readProject(), await findTool(), urlEnv, createOptions);
    },
    describeFailedFix(id) {
      return `Alembic keeps no failed state: fix revision "${id}", then run "migrate up" again.`;
    },
    reviewPlan(plan: Plan): Plan {
      // A revision graph has no "out of order": Alembic applies a pending revision whenever its ancestors are applied.
      const graph = readGraph();
      const problems: IntegrityProblem[] = plan.problems.filter((problem) => problem.kind !== "out-of-order");
      if (graph.heads.length > 1) {
        problems.push({
          kind: "stack-check",
          id: graph.heads.join(","),
          level: "warning",
          message: `The revisions have ${graph.heads.length} heads: ${describeHeads(graph)}. "migrate up" applies one branch at a time: run "migrate up --to <head>", or merge them with "alembic merge heads -m <message>".`,
        });
      }
      return {
        ...plan,
        problems,
        entries: plan.entries.map(({ isOutOfOrder: _isOutOfOrder, ...entry }) => entry),
      };
    },
    selectPending(plan: Plan, to: string | undefined): Migration[] {
      const graph = readGraph();
      if (to === undefined) {
        if (graph.heads.length > 1 && plan.pending.length > 0) {
          throw new MigrateError(
            "USAGE",
            `The revisions have ${graph.heads.length} heads: ${describeHeads(graph)}, so "migrate up" does not know which to apply. Run "migrate up --to <head>" for one branch, or merge them with "alembic merge heads -m <message>" and run "migrate up".`,
            { details: { heads: graph.heads } },
          );
        }
        return plan.pending;
      }
      const target = graph.byId.get(to) ?? graph.revisions.find((revision) => revision.branchLabels.includes(to));
      const isPending = target && plan.pending.some((migration) => migration.id === target.revision);
      if (!target || !isPending) {
        const isApplied = plan.entries.some((entry) => entry.id === (target?.revision ?? to) && entry.state === "applied");
        throw new MigrateError(
          "USAGE",
          isApplied
            ? `"${to}" is already applied. Use "migrate down --to ${to}" to go back to it.`
            : `"${to}" is not a pending revision. Use the id of a pending revision (see "migrate status").`,
          { details: { to } },
        );
      }
      // What `alembic upgrade <to>` applies: the pending ancestors of the target, in graph order.
      const needed = ancestorsOf(graph, [target.revision]);
      return plan.pending.filter((migration) => needed.has(migration.id));
    },
  };
}

/** The Alembic stack's factory: detected by an `alembic.ini` in the folder. */
export const alembicStack: AdapterFactory = {
  stack: "alembic",
  detect(folder) {
    return existsSync(join(folder, "alembic.ini")) ? { dir: folder } : undefined;
  },
  create: (options) => createAlembicAdapter({ ...options, dir: resolve(options.dir) }),
  settingsSchema: alembicSettingsSchema,
};
