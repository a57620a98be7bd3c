// The public surface of @polymigrate/core: the model, the engine, the policies and the plain-SQL stack.
export * from "./model/errors.js";
export type * from "./model/migration.js";
export type * from "./model/adapter.js";
export type * from "./model/plan.js";
export type * from "./model/report.js";
export type * from "./model/events.js";
export type { Queryable } from "./db/queryable.js";
export { READ_LOCK_TIMEOUT_MS, connect, describeError, quoteIdent, type DatabaseSession, type ConnectOptions } from "./db/connect.js";
export * from "./db/database-url.js";
export * from "./policy/redact.js";
export * from "./policy/direct-url-policy.js";
export * from "./policy/production-guard.js";
export * from "./policy/pooler-probe.js";
export * from "./sql/statements.js";
export * from "./sql/checksum.js";
export * from "./plan/plan-run.js";
export * from "./execute/run-sql.js";
export * from "./execute/apply-plan.js";
export * from "./execute/session-settings.js";
export * from "./execute/invalid-indexes.js";
export * from "./lock/migration-lock.js";
export * from "./run/project-run.js";
export * from "./run/verify-project.js";
export * from "./rehearse/rehearse-project.js";
export { locksOfStatement, type StatementLock } from "./rehearse/statement-locks.js";
export * from "./doctor/doctor-project.js";
export * from "./doctor/landed-objects.js";
export * from "./config/define-config.js";
export * from "./config/config-schema.js";
export * from "./config/duration.js";
export * from "./config/closest-name.js";
export * from "./neon/index.js";
export type * from "./lint/lint-finding.js";
export * from "./lint/lint-migrations.js";
export * from "./lint/lint-pending.js";
export * from "./lint/lint-project.js";
export { findSquawkBinary, formatPgVersion, SQUAWK_TIMEOUT_RULES } from "./lint/squawk.js";
export { POLYMIGRATE_RULES, type PolymigrateRule } from "./lint/lint-rules.js";
export { DEFAULT_HAZARD_THRESHOLD, SIZE_HAZARD_RULES, ROWS_HAZARD_RULES, measureTables, type TableSize, type RelationReference } from "./lint/table-size.js";
export * from "./catalog/catalog-snapshot.js";
export * from "./rollback/generate-down.js";
export * from "./snapshot/index.js";
export * from "./ledger/index.js";
export {
  createSqlAdapter,
  sqlStack,
  type SqlStackSettings,
  type SqlStackAdapter,
  type SqlCreateMigrationOptions,
} from "./stacks/sql/index.js";
export { readSqlMigrations, nextSqlMigrationId } from "./stacks/sql/sql-layout.js";
export * from "./stacks/contained-path.js";
