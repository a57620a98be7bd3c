import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

// The files that can make a folder a project of each stack: a stack's package is loaded (and its detect asked) only
// when one is there, so that detection does not pay for loading every adapter.
const MARKERS: Record<StackName, (names: string[], folder: string) => boolean> = {
  prisma: (names, folder) =>
    names.includes("prisma") || names.some((name) => name.startsWith("prisma.config.")) || hasPrismaPackageKey(folder, names),
  drizzle: (names) => names.some((name) => name.startsWith("drizzle.config.")),
  alembic: (names) => names.includes("alembic.ini"),
  sql: (names) => names.includes("migrations"),
};

function hasPrismaPackageKey(folder: string, names: string[]): boolean {
  if (!names.includes("package.json")) return false;
  try {
    return "prisma" in (JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as object);
  } catch {
    return false;
  }
}

/** Loads the factories of the stacks whose marker files are in `folder` and whose packages are installed. */
export async function loadCandidateStacks(folder: string): Promise<AdapterFactory[]> {
  const names = existsSync(folder) ? readdirSync(folder) : [];
  const factories: AdapterFactory[] = [];
  for (const stack of DETECTION_ORDER) {
    if (!MARKERS[stack](names, folder)) continue;
    try {
      factories.push(await loadStack(stack));
    } catch (error) {
      if ((error as { code?: string }).code !== "STACK_UNSUPPORTED") throw error;
    }
  }
  return factories;
}
