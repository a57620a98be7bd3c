// The run ledger (polymigrate.ledger) and drift detection against the schema it recorded.
export * from "./ledger-store.js";
export * from "./ledger-run.js";
export * from "./schema-fingerprint.js";
