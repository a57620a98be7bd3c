import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";
import {
  MigrateError,
  filePolicyOf,
  resolveMigrationUrl,
  STACK_NAMES,
  validateConfig,
  type MigrateConfig,
  type ProjectConfig,
  type ProjectTarget,
  type ResolvedUrl,
  type StackAdapter,
  type StackName,
  type StackSettingsSchemas,
} from "@polymigrate/core";
import { loadCandidateStacks, loadStack } from "./stacks.js";

/** The configuration file names looked for, in order. */
export const CONFIG_FILES = ["migrate.config.ts", "migrate.config.mts", "migrate.config.js", "migrate.config.mjs", "migrate.config.json"];

/** A project of the run, with its adapter built. */
export interface SelectedProject {
  config: ProjectConfig;
  adapter: StackAdapter;
}

/** The projects of a run and where they came from. */
export interface Workspace {
  /** The configuration file, when there is one. */
  configFile?: string;
  /** The folder paths are relative to. */
  root: string;
  config: MigrateConfig;
  projects: SelectedProject[];
  /** The environment, with the folder's `.env` added under the process's own variables. */
  env: Record<string, string | undefined>;
}

async function importConfig(file: string): Promise<unknown> {
  if (file.endsWith(".json")) {
    try {
      return JSON.parse(readFileSync(file, "utf8"));
    } catch (cause) {
      throw new MigrateError("CONFIG_INVALID", `"${file}" is not valid JSON: ${(cause as Error).message}. Fix the file.`, { cause });
    }
  }
  // A config imports defineConfig from @polymigrate/cli (or core); point those at this CLI's own copies, so that a
  // config works even where the packages are not installed beside it (a global install, a bare folder).
  // jiti (a TypeScript loader) is loaded only for configurations that need it.
  const { createJiti } = await import("jiti");
  const jiti = createJiti(import.meta.url, {
    moduleCache: false,
    alias: {
      "@polymigrate/cli": fileURLToPath(new URL("./index.js", import.meta.url)),
      "@polymigrate/core": fileURLToPath(import.meta.resolve("@polymigrate/core")),
    },
  });
  try {
    return await jiti.import(file, { default: true });
  } catch (cause) {
    throw new MigrateError("CONFIG_INVALID", `Could not load "${file}": ${(cause as Error).message}. Fix the file (it must export a configuration as default).`, { cause });
  }
}

// The settings schemas of the stacks a configuration names, so that every project's settings are checked before any
// work, the projects not selected by --project included. A stack whose package is missing is left to the project loop,
// which names the package to install when that project is run.
async function loadSettingsSchemas(config: unknown): Promise<StackSettingsSchemas> {
  const projects = (config as { projects?: unknown } | undefined)?.projects;
  const named = Array.isArray(projects) ? projects.map((project) => (project as { stack?: unknown } | undefined)?.stack) : [];
  const stacks = STACK_NAMES.filter((stack) => named.includes(stack));
  const schemas: StackSettingsSchemas = {};
  for (const stack of stacks) {
    const factory = await loadStack(stack as StackName).catch((error: unknown) => {
      if ((error as { code?: string }).code === "STACK_UNSUPPORTED") return undefined;
      throw error;
    });
    if (factory?.settingsSchema) schemas[stack] = factory.settingsSchema;
  }
  return schemas;
}

// Reads `.env` the way the stacks' own CLIs do, without overriding variables that are already set.
function readEnv(folder: string, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const file = join(folder, ".env");
  if (!existsSync(file)) return env;
  return { ...parseEnv(readFileSync(file, "utf8")), ...env };
}

/**
 * Finds the run's projects: from `--config`, from a `migrate.config.*` in the folder, or detected from the folder's
 * stack markers; then keeps `--project` alone when it is given.
 */
export async function loadWorkspace(options: {
  cwd: string;
  configPath?: string;
  project?: string;
  env: Record<string, string | undefined>;
}): Promise<Workspace> {
  let configFile: string | undefined;
  if (options.configPath) {
    configFile = resolve(options.cwd, options.configPath);
    if (!existsSync(configFile)) {
      throw new MigrateError("CONFIG_NOT_FOUND", `The configuration file "${configFile}" does not exist. Check the path given to --config.`);
    }
  } else {
    configFile = CONFIG_FILES.map((name) => join(options.cwd, name)).find((file) => existsSync(file));
  }

  let config: MigrateConfig;
  let root: string;
  if (configFile) {
    root = dirname(configFile);
    const loaded = await importConfig(configFile);
    config = validateConfig(loaded, configFile, await loadSettingsSchemas(loaded));
  } else {
    root = options.cwd;
    if (!existsSync(root)) throw new MigrateError("USAGE", `The folder "${root}" does not exist. Check --cwd.`);
    const detected = [];
    for (const factory of await loadCandidateStacks(root)) {
      const found = factory.detect(root);
      if (found) detected.push({ stack: factory.stack, dir: found.dir });
    }
    if (detected.length === 0) {
      throw new MigrateError(
        "STACK_NOT_DETECTED",
        `No migrate.config.* in "${root}" and no project found there (looked for prisma/schema.prisma, drizzle.config.*, alembic.ini and a migrations/ folder of numbered .sql files). Run migrate from a project's folder (or pass --cwd <dir>), or create migrate.config.ts listing your projects.`,
        { details: { dir: root } },
      );
    }
    const name = basename(root);
    config = {
      projects: detected.map((project) => ({
        name: detected.length === 1 ? name : `${name}-${project.stack}`,
        stack: project.stack,
        dir: project.dir,
      })),
    };
  }

  let configs = config.projects;
  if (options.project !== undefined) {
    configs = configs.filter((project) => project.name === options.project);
    if (configs.length === 0) {
      const names = config.projects.map((project) => `"${project.name}"`).join(", ");
      throw new MigrateError("PROJECT_NOT_FOUND", `There is no project "${options.project}". The projects are ${names}.`, {
        details: { project: options.project },
      });
    }
  }
  const projects: SelectedProject[] = [];
  for (const project of configs) {
    const factory = await loadStack(project.stack);
    const dir = resolve(root, project.dir);
    const adapter = await factory.create({ dir, ...(project.settings ? { settings: project.settings } : {}), ...filePolicyOf(project) });
    projects.push({ config: { ...project, dir }, adapter });
  }
  return { ...(configFile ? { configFile } : {}), root, config, projects, env: readEnv(root, options.env) };
}

/** Resolves one project's URL through the direct-URL policy. */
export function resolveProjectUrl(
  workspace: Workspace,
  config: ProjectConfig,
  options: { allowPooledUrl: boolean },
): ResolvedUrl {
  return resolveMigrationUrl({
    env: workspace.env,
    ...(config.urlEnv ? { urlEnv: config.urlEnv } : {}),
    ...(config.pooledUrlEnv ? { pooledUrlEnv: config.pooledUrlEnv } : {}),
    ...(config.pooled ? { isMarkedPooled: true } : {}),
    ...(workspace.config.pooledHosts ? { pooledHosts: workspace.config.pooledHosts } : {}),
    allowPooledUrl: options.allowPooledUrl,
  });
}

/**
 * Resolves every project's URL through the direct-URL policy before any work starts, so that a refusal changes
 * nothing anywhere; with several projects, the message names the project.
 */
export function resolveTargets(workspace: Workspace, options: { allowPooledUrl: boolean }): ProjectTarget[] {
  const several = workspace.projects.length > 1;
  return workspace.projects.map(({ config, adapter }) => {
    try {
      return {
        name: config.name,
        adapter,
        url: resolveProjectUrl(workspace, config, options),
        ...(options.allowPooledUrl ? { allowPooledUrl: true } : {}),
        ...productionMark(workspace, config),
      };
    } catch (error) {
      if (several && error instanceof MigrateError) {
        throw new MigrateError(error.code, `Project "${config.name}": ${error.message}`, {
          details: { ...error.details, project: config.name },
        });
      }
      throw error;
    }
  });
}

/** Whether a project is production: its configuration says so, or `MIGRATE_ENV=production` for the whole run. */
export function productionMark(workspace: Workspace, config: ProjectConfig): { production?: "config" | "MIGRATE_ENV" } {
  if (config.production) return { production: "config" };
  return workspace.env.MIGRATE_ENV === "production" ? { production: "MIGRATE_ENV" } : {};
}
