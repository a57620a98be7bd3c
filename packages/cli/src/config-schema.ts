import { STACK_NAMES, toConfigJsonSchema, type StackSettingsSchemas } from "@polymigrate/core";
import { loadStack } from "./stacks.js";

/** The file the CLI package publishes the configuration's JSON Schema as (`"$schema"` in a migrate.config.json). */
export const CONFIG_SCHEMA_FILE = "migrate.schema.json";

/**
 * The configuration's JSON Schema, every stack's `settings` included, as `migrate.schema.json` holds it (the text,
 * two-space indented with a final newline); `scripts/write-schema.mjs` writes it and a test keeps the two equal.
 */
export async function renderConfigJsonSchema(): Promise<string> {
  const schemas: StackSettingsSchemas = {};
  for (const stack of STACK_NAMES) {
    const factory = await loadStack(stack);
    if (factory.settingsSchema) schemas[stack] = factory.settingsSchema;
  }
  return `${JSON.stringify(toConfigJsonSchema(schemas), null, 2)}\n`;
}
