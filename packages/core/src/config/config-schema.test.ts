import { describe, expect, it } from "vitest";
import { isMigrateError } from "../model/errors.js";
import { sqlSettingsSchema } from "../stacks/sql/index.js";
import { createConfigSchema, parseStackSettings, toConfigJsonSchema, validateConfig } from "./config-schema.js";
import type { MigrateConfig } from "./define-config.js";

const project = { name: "app", stack: "sql", dir: "migrations" };

function problemsOf(config: unknown): string[] {
  try {
    validateConfig(config, "migrate.config.json", { sql: sqlSettingsSchema });
  } catch (error) {
    if (isMigrateError(error) && error.code === "CONFIG_INVALID") return error.details.problems as string[];
    throw error;
  }
  return [];
}

describe("validateConfig", () => {
  it("accepts a full configuration, $schema included", () => {
    const config = {
      $schema: "./node_modules/@polymigrate/cli/migrate.schema.json",
      lockTimeout: "5s",
      statementTimeout: 0,
      retries: 0,
      pooledHosts: ["pool.internal"],
      lint: { disable: ["prefer-robust-stmts"] },
      projects: [
        { ...project, urlEnv: "APP_URL", production: true, settings: { table: "app_migrations" }, lockTimeout: "0.4", neon: { projectId: "p-1" } },
        { name: "web", stack: "prisma", dir: "web", settings: { anything: 1 } },
      ],
    };
    expect(problemsOf(config)).toEqual([]);
  });

  it("names the closest valid key of an unknown one, at every level", () => {
    expect(problemsOf({ lnt: {}, projects: [{ ...project, prodution: true, urlenv: "X", settings: { tabel: "t" } }] })).toEqual([
      'projects[0].settings has the unknown key "tabel": did you mean "table"?',
      'projects[0] has the unknown key "prodution": did you mean "production"?',
      'projects[0] has the unknown key "urlenv": did you mean "urlEnv"?',
      'The configuration has the unknown key "lnt": did you mean "lint"?',
    ]);
    expect(problemsOf({ projects: [{ ...project, zzzzzz: 1 }] })[0]).toMatch(/unknown key "zzzzzz"; the keys there are "name", "stack", "dir"/);
  });

  it("names the expected type of a wrong one", () => {
    expect(problemsOf({ projects: [{ ...project, lockTimeout: true, production: "yes", retries: -1 }] })).toEqual([
      'projects[0].production is "yes"; expected true or false',
      'projects[0].lockTimeout is true; use a number with a unit, such as "500ms", "5s", "2min" or "1h" (a bare number is seconds; 0 is off)',
      "projects[0].retries is -1; use a whole number, 0 for none",
    ]);
    expect(problemsOf({ retries: 1.5, projects: [project] })).toEqual(["retries is 1.5; use a whole number, 0 for none"]);
  });

  it("refuses a duration that would round to off, or that older versions read as milliseconds", () => {
    expect(problemsOf({ lockTimeout: "0.4ms", statementTimeout: 5000, projects: [project] })).toEqual([
      expect.stringMatching(/^lockTimeout is "0.4ms", less than 1ms/),
      expect.stringMatching(/^statementTimeout is 5000: a bare number is seconds/),
    ]);
  });

  it("keeps the earlier checks: stack, name, dir, variable names, unique names", () => {
    expect(problemsOf({ projects: [{ ...project, stack: "flyway" }] })).toEqual(['projects[0].stack is "flyway"; use one of "sql", "prisma", "drizzle", "alembic"']);
    expect(problemsOf({ projects: [{ name: "a", dir: "m" }] })).toEqual(['projects[0].stack is missing; use one of "sql", "prisma", "drizzle", "alembic"']);
    expect(problemsOf({ projects: [{ ...project, name: "no spaces" }] })).toEqual(['projects[0].name must be a short name of letters, digits, "-", "_" or "."']);
    expect(problemsOf({ projects: [{ ...project, dir: "" }] })).toEqual(["projects[0].dir must be a folder, relative to the configuration file"]);
    expect(problemsOf({ projects: [{ ...project, urlEnv: "postgresql://u@h/db" }] })[0]).toContain('use the name of an environment variable, such as "DIRECT_URL", not a URL');
    expect(problemsOf({ projects: [project, project] })).toEqual(['projects[1].name is "app", the name of an earlier project; give each a name of its own']);
    expect(problemsOf({ projects: [] })).toEqual(["projects must list at least one project, each { name, stack, dir }"]);
    expect(problemsOf(null)).toEqual(["The configuration is null; expected an object"]);
  });

  it("says every problem in one message that ends with what to do", () => {
    expect(() => validateConfig({ projects: [{ ...project, prodution: true }] }, "/p/migrate.config.json")).toThrow(
      'The configuration "/p/migrate.config.json" is invalid: projects[0] has the unknown key "prodution": did you mean "production"? Fix the file; nothing was run.',
    );
  });
});

describe("parseStackSettings", () => {
  it("returns the settings, or refuses naming the stack and the key", () => {
    expect(parseStackSettings(sqlSettingsSchema, undefined, "sql")).toEqual({});
    expect(parseStackSettings(sqlSettingsSchema, { table: "t" }, "sql")).toEqual({ table: "t" });
    expect(() => parseStackSettings(sqlSettingsSchema, { tabel: "t" }, "sql")).toThrow(
      'The sql project\'s settings are invalid: settings has the unknown key "tabel": did you mean "table"? Fix them in migrate.config.',
    );
  });
});

describe("the JSON Schema", () => {
  it("has each stack's settings and the shared definitions", () => {
    const schema = toConfigJsonSchema({ sql: sqlSettingsSchema }) as { $defs: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.$defs)).toEqual(expect.arrayContaining(["duration", "envName", "lint", "neon", "retries"]));
    expect(schema.additionalProperties).toBe(false);
    expect(JSON.stringify(schema)).toContain('"const":"sql"');
  });

  it("parses into what MigrateConfig types", () => {
    const parsed: MigrateConfig = createConfigSchema().parse({ projects: [project] });
    expect(parsed.projects[0]?.name).toBe("app");
  });
});
