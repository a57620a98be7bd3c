import { MigrateError, sqlStack, type AdapterFactory, type StackName } from "@polymigrate/core";

// Adapter packages are loaded on first use, so that a run on one stack never loads another stack's code.
const PACKAGES: Record<Exclude<StackName, "sql">, { name: string; exportName: string }> = {
  prisma: { name: "@polymigrate/prisma", exportName: "prismaStack" },
  drizzle: { name: "@polymigrate/drizzle", exportName: "drizzleStack" },
  alembic: { name: "@polymigrate/alembic", exportName: "alembicStack" },
};

/** The order detection tries the stacks in: the stack-specific markers first, plain SQL last. */
export const DETECTION_ORDER: StackName[] = ["prisma", "drizzle", "alembic", "sql"];

/** Loads a stack's adapter factory; a stack whose package is not installed is a clear error. */
export async function loadStack(stack: StackName): Promise<AdapterFactory> {
  if (stack === "sql") return sqlStack;
  const { name, exportName } = PACKAGES[stack];
  let module: Record<string, unknown>;
  try {
    module = (await import(name)) as Record<string, unknown>;
  } catch (cause) {
    if ((cause as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw cause;
    throw new MigrateError(
      "STACK_UNSUPPORTED",
      `The "${stack}" stack needs the package "${name}", which is not installed. Install it (pnpm add -D ${name}) and run again.`,
      { details: { stack, package: name }, cause },
    );
  }
  const factory = module[exportName] as AdapterFactory | undefined;
  if (!factory) throw new MigrateError("STACK_UNSUPPORTED", `"${name}" does not export "${exportName}". Update it to the version of @polymigrate/cli.`);
  return factory;
}

/** Loads the factories that are installed, for detection. */
export async function loadInstalledStacks(): Promise<AdapterFactory[]> {
  const factories: AdapterFactory[] = [];
  for (const stack of DETECTION_ORDER) {
    try {
      factories.push(await loadStack(stack));
    } catch (error) {
      if ((error as { code?: string }).code !== "STACK_UNSUPPORTED") throw error;
    }
  }
  return factories;
}
