import { z } from "zod";
import type { StackName } from "../model/adapter.js";
import { MigrateError } from "../model/errors.js";
import { findClosestName } from "./closest-name.js";
import type { MigrateConfig } from "./define-config.js";
import { DURATION_HINT, DURATION_PATTERN, parseDuration } from "./duration.js";

/** The stacks a configuration may name. */
export const STACK_NAMES: readonly StackName[] = ["sql", "prisma", "drizzle", "alembic"];

/** The schema of each stack's `settings`, by stack; a stack left out takes any object. */
export type StackSettingsSchemas = Partial<Record<StackName, z.ZodType>>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A duration field: `"500ms"`, `"5s"`, `"2min"`, `"1h"`, or a bare number of seconds, read by {@link parseDuration}. */
export const durationSchema = z
  .union([z.string().regex(DURATION_PATTERN), z.number().min(0)], { error: (issue) => `is ${JSON.stringify(issue.input)}; use ${DURATION_HINT}` })
  .superRefine((value, context) => {
    const duration = parseDuration(value);
    if (!duration.ok) context.addIssue({ code: "custom", message: duration.problem });
  })
  .meta({ id: "duration", description: `A duration: ${DURATION_HINT}.` });

/** The name of an environment variable (never a URL: secrets stay out of the configuration). */
export const envNameSchema = z
  .string()
  .regex(ENV_NAME, { error: (issue) => `is ${JSON.stringify(issue.input)}; use the name of an environment variable, such as "DIRECT_URL", not a URL` })
  .meta({ id: "envName", description: "The name of an environment variable, such as DIRECT_URL (not a URL)." });

const retriesSchema = z
  .int({ error: (issue) => `is ${JSON.stringify(issue.input)}; use a whole number, 0 for none` })
  .min(0, { error: (issue) => `is ${JSON.stringify(issue.input)}; use a whole number, 0 for none` })
  .meta({ id: "retries", description: "How many times a migration that hit lock_timeout is retried (0 for none)." });

const ruleListSchema = z.array(z.string(), { error: (issue) => `is ${JSON.stringify(issue.input)}; use a list of rule names, such as ["prefer-robust-stmts"]` });

const sizeError = (unit: string, example: string) => (issue: { input: unknown }) => `is ${JSON.stringify(issue.input)}; use a whole number of ${unit}, 0 or more, such as ${example}`;

const hazardThresholdSchema = z
  .strictObject({
    rows: z
      .int({ error: sizeError("rows", "10000") })
      .min(0, { error: sizeError("rows", "10000") })
      .optional()
      .meta({ description: "A table with more rows than this is big enough for a lock or rewrite to matter; default 10000." }),
    bytes: z
      .int({ error: sizeError("bytes", "10485760 (10 MiB)") })
      .min(0, { error: sizeError("bytes", "10485760 (10 MiB)") })
      .optional()
      .meta({ description: "A table larger than this, with its indexes and TOAST, is big enough to matter; default 10485760 (10 MiB)." }),
  })
  .meta({
    id: "hazardThreshold",
    description:
      "With a database, a lock or rewrite hazard (a plain CREATE INDEX, a column type change, ...) blocks up only on an existing table above this size; on a smaller table, or one the run creates, it is a notice.",
  });

const lintSchema = z
  .strictObject({
    disable: ruleListSchema.optional().meta({ description: "Rules (Squawk's or Polymigrate's) whose findings are dropped." }),
    include: ruleListSchema.optional().meta({ description: "Squawk rules that are off by default and should run." }),
    hazardThreshold: hazardThresholdSchema.optional(),
  })
  .meta({ id: "lint", description: "The safety lint's settings." });

const neonSchema = z
  .strictObject({
    projectId: z.string().min(1).meta({ description: "The Neon project id (Settings → General in Neon's console)." }),
    apiKeyEnv: envNameSchema.optional().meta({ description: "The variable holding the Neon API key; default NEON_API_KEY." }),
    apiUrl: z.string().min(1).optional().meta({ description: "The API's base URL; default https://console.neon.tech/api/v2." }),
  })
  .meta({ id: "neon", description: "Neon: up --branch-first branches the target first, rehearse runs on a branch." });

// The keys that may be set for the whole configuration and again per project (the project's win).
const safetyShape = {
  lockTimeout: durationSchema.optional().meta({ description: `lock_timeout of each migration's session; default "5s". Write ${DURATION_HINT}.` }),
  statementTimeout: durationSchema.optional().meta({ description: `statement_timeout of each migration's session; default 0 (off). Write ${DURATION_HINT}.` }),
  retries: retriesSchema.optional(),
  lint: lintSchema.optional(),
};

function projectSchema(stack: StackName, settings: z.ZodType<Record<string, unknown>>) {
  return z
    .strictObject({
      name: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: () => 'must be a short name of letters, digits, "-", "_" or "."' })
        .meta({ description: "A short name, unique in the configuration (--project <name>)." }),
      stack: z.literal(stack),
      dir: z
        .string({ error: () => "must be a folder, relative to the configuration file" })
        .min(1, { error: () => "must be a folder, relative to the configuration file" })
        .meta({ description: "The project's folder, relative to the configuration file (for sql: the folder of .sql files)." }),
      urlEnv: envNameSchema.optional().meta({ description: "The variable holding the direct URL; default DIRECT_URL." }),
      pooledUrlEnv: envNameSchema.optional().meta({ description: "The application's pooled URL variable; default DATABASE_URL." }),
      pooled: z.boolean().optional().meta({ description: "Marks this project's URL as pooled: it is then refused." }),
      production: z.boolean().optional().meta({ description: "Marks the project's database as production." }),
      allowSymlinksOutside: z
        .boolean({ error: () => "must be true or false" })
        .optional()
        .meta({ description: "Follow symbolic links in the migrations folder that lead outside the project (refused by default)." }),
      maxMigrationBytes: z
        .number()
        .int({ error: () => "must be a whole number of bytes above 0, such as 134217728 (128 MiB)" })
        .positive({ error: () => "must be a whole number of bytes above 0, such as 134217728 (128 MiB)" })
        .optional()
        .meta({ description: "The largest migration file read, in bytes; default 64 MiB." }),
      settings: settings.optional(),
      ...safetyShape,
      neon: neonSchema.optional(),
    })
    .meta({ title: `A ${stack} project` });
}

/**
 * The schema of a `migrate.config.*` file, with each stack's `settings` checked by the schema its adapter exports.
 * The CLI validates with it and publishes it as JSON Schema (`migrate.schema.json`).
 *
 * @example
 * const schema = createConfigSchema({ sql: sqlSettingsSchema });
 */
export function createConfigSchema(settings: StackSettingsSchemas = {}) {
  const anySettings = z.record(z.string(), z.unknown());
  // Each adapter's settings are an object of its own keys: the configuration's type keeps them as a plain record.
  const stacks = STACK_NAMES.map((stack) => projectSchema(stack, (settings[stack] ?? anySettings) as z.ZodType<Record<string, unknown>>));
  const project = z.discriminatedUnion("stack", stacks as [ReturnType<typeof projectSchema>, ...ReturnType<typeof projectSchema>[]], {
    error: (issue) => {
      if (issue.code !== "invalid_union") return undefined;
      const stack = (issue.input as { stack?: unknown } | undefined)?.stack;
      return `is ${stack === undefined ? "missing" : JSON.stringify(stack)}; use one of ${STACK_NAMES.map((name) => `"${name}"`).join(", ")}`;
    },
  });
  return z
    .strictObject({
      $schema: z.string().optional().meta({ description: "The JSON Schema of this file, for editors." }),
      projects: z
        .array(project, { error: () => "must be a list of projects, each { name, stack, dir }" })
        .min(1, { error: () => "must list at least one project, each { name, stack, dir }" })
        .meta({ description: "The projects, each { name, stack, dir }." }),
      pooledHosts: z.array(z.string().min(1)).optional().meta({ description: "Host names that are poolers, refused like the built-in rules." }),
      ...safetyShape,
    })
    .superRefine((config, context) => {
      const seen = new Set<string>();
      config.projects.forEach((project, index) => {
        if (seen.has(project.name)) {
          context.addIssue({ code: "custom", path: ["projects", index, "name"], message: `is "${project.name}", the name of an earlier project; give each a name of its own` });
        }
        seen.add(project.name);
      });
    })
    .meta({ title: "Polymigrate configuration (migrate.config.*)" });
}

/** The configuration's JSON Schema, as editors read it (`"$schema"` in a `migrate.config.json`). */
export function toConfigJsonSchema(settings: StackSettingsSchemas): Record<string, unknown> {
  return z.toJSONSchema(createConfigSchema(settings), { io: "input" }) as Record<string, unknown>;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), "");
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  record: "an object",
};

// The generic messages, for the issues the schema does not word itself; unknown keys get the closest valid one.
const describeIssue: z.core.$ZodErrorMap = (issue) => {
  const shown = JSON.stringify(issue.input) ?? String(issue.input);
  if (issue.code === "unrecognized_keys") {
    const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape ?? {};
    const valid = Object.keys(shape);
    return issue.keys
      .map((key) => {
        const suggestion = findClosestName(key, valid);
        return suggestion
          ? `has the unknown key "${key}": did you mean "${suggestion}"?`
          : `has the unknown key "${key}"; the keys there are ${valid.map((name) => `"${name}"`).join(", ")}`;
      })
      .join("\n");
  }
  if (issue.code === "invalid_type") {
    if (issue.input === undefined) return `is missing; set it to ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    return `is ${shown}; expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
  }
  if (issue.code === "too_small" && issue.origin === "string") return "is empty; set it or leave it out";
  if (issue.code === "invalid_value") return `is ${shown}; use one of ${issue.values.map((value) => JSON.stringify(value)).join(", ")}`;
  return undefined;
};

/** The problems of a value against a schema, one line each: the field's path, then what is wrong and what to use. */
export function describeSchemaProblems(schema: z.ZodType, value: unknown, prefix: readonly PropertyKey[] = []): string[] {
  const result = schema.safeParse(value, { error: describeIssue });
  if (result.success) return [];
  return result.error.issues.flatMap((issue) => {
    const path = formatPath([...prefix, ...issue.path]);
    // An object with several unknown keys gets one line per key.
    return issue.message.split("\n").map((message) => (path ? `${path} ${message}` : `The configuration ${message}`));
  });
}

const sentence = (text: string): string => (/[.?!]$/.test(text) ? text : `${text}.`);

function invalid(file: string, problems: string[]): MigrateError {
  const listed = problems.length === 1 ? ` ${sentence(problems[0]!)} ` : `\n${problems.map((problem) => `  - ${problem}`).join("\n")}\n`;
  return new MigrateError("CONFIG_INVALID", `The configuration "${file}" is invalid:${listed}Fix the file; nothing was run.`, {
    details: { file, problems },
  });
}

/**
 * Checks a loaded configuration against {@link createConfigSchema}, every project and its `settings` included, before
 * any work; throws one CONFIG_INVALID (exit 2) listing every problem.
 */
export function validateConfig(value: unknown, file: string, settings: StackSettingsSchemas = {}): MigrateConfig {
  const problems = describeSchemaProblems(createConfigSchema(settings), value);
  if (problems.length > 0) throw invalid(file, problems);
  return value as MigrateConfig;
}

/**
 * Reads a stack's `settings` with the schema its adapter exports: the parsed settings, or CONFIG_INVALID naming each
 * wrong key (for adapters built without the CLI, which has already checked them).
 */
export function parseStackSettings<T>(schema: z.ZodType<T>, value: unknown, stack: StackName): T {
  const problems = describeSchemaProblems(schema, value ?? {}, ["settings"]);
  if (problems.length > 0) {
    throw new MigrateError("CONFIG_INVALID", `The ${stack} project's settings are invalid: ${sentence(problems.join("; "))} Fix them in migrate.config.`, {
      details: { stack, problems },
    });
  }
  return schema.parse(value ?? {});
}
