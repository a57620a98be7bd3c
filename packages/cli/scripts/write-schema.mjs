// Writes migrate.schema.json from the configuration's zod schema (run after the build: node scripts/write-schema.mjs).
import { writeFileSync } from "node:fs";
import { CONFIG_SCHEMA_FILE, renderConfigJsonSchema } from "../dist/config-schema.js";

const file = new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url);
writeFileSync(file, await renderConfigJsonSchema());
console.log(`wrote ${file.pathname}`);
