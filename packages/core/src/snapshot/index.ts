// Snapshots: `migrate up --snapshot` saves what a run may change with pg_dump; `migrate down --to-snapshot` restores it.
export * from "./pg-tools.js";
export * from "./touched-tables.js";
export * from "./snapshot-manifest.js";
export * from "./take-snapshot.js";
export * from "./restore-snapshot.js";
