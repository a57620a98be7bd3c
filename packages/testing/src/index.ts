// The test harness: fresh databases on the real server, throwaway projects, and the CLI runner.
export * from "./database.js";
export * from "./project.js";
export * from "./cli.js";
export * from "./readme.js";
export * from "./pgbouncer.js";
export * from "./contract.js";
