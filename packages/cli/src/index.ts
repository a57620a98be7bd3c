// The library surface of @polymigrate/cli: what a `migrate.config.ts` imports.
export { defineConfig, type MigrateConfig, type ProjectConfig } from "@polymigrate/core";
export { main, type MainOptions } from "./main.js";
