import { relative } from "node:path";
import { MigrateError, type ProjectConfig, type RunReport } from "@polymigrate/core";
import type { CommandContext } from "./context.js";
import { fileReport, requireOneProject } from "./single-project.js";
import { resolveProjectUrl } from "../projects.js";

// A generator may need the database (Alembic's autogenerate, Prisma 6's diff): give it the project's URL through the
// same policy as every other command; a project with no URL set is not an error here, the stack says if it needs one.
function optionalProjectUrl(context: CommandContext, config: ProjectConfig): string | undefined {
  try {
    return resolveProjectUrl(context.workspace, config, { allowPooledUrl: context.args.allowPooledUrl }).url;
  } catch (error) {
    if (error instanceof MigrateError && error.code === "URL_MISSING") return undefined;
    throw error;
  }
}

/** `migrate create <name>`: a new migration in the project's own layout. */
export async function createCommand(context: CommandContext): Promise<RunReport> {
  const { args, output } = context;
  const selected = requireOneProject(context, "create");
  const { config, adapter } = selected;
  if (!adapter.createMigration) {
    throw new MigrateError("USAGE", `The "${adapter.stack}" stack cannot create migrations from migrate. Use the stack's own tool.`);
  }
  const started = Date.now();
  const name = args.positionals[0] as string;
  const url = optionalProjectUrl(context, config);
  const result = await adapter.createMigration({ name, empty: args.empty, ...(url ? { url } : {}) });
  if (!args.json) {
    output.out(result.isEmpty ? `No schema change found: nothing created for "${config.name}".` : `Created ${result.id} in ${config.name}:`);
    for (const file of result.files) output.out(`  ${relative(context.cwd, file) || file}`);
  }
  return fileReport("create", selected, started, { id: result.id, name, outcome: "pending" }, { created: result });
}
