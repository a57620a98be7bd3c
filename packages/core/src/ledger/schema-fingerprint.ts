import { createHash } from "node:crypto";
import type { Queryable } from "../db/queryable.js";
import { describeCatalogDifference, diffCatalogSnapshots, readCatalogSnapshot, type CatalogSnapshot } from "../catalog/catalog-snapshot.js";

/** The schema as the ledger keeps it: the catalog snapshot (bookkeeping schemas and history tables left out) and its hash. */
export interface SchemaFingerprint {
  /** SHA-256 (hex) of the snapshot's JSON, keys sorted: equal schemas give equal fingerprints. */
  fingerprint: string;
  snapshot: CatalogSnapshot;
}

/** The snapshot with its keys in a stable order, so that its JSON (and hash) does not depend on catalog order. */
export function canonicalSnapshot(snapshot: CatalogSnapshot): CatalogSnapshot {
  return { objects: Object.fromEntries(Object.entries(snapshot.objects).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/** SHA-256 of a snapshot's canonical JSON. */
export function fingerprintOf(snapshot: CatalogSnapshot): string {
  return createHash("sha256").update(JSON.stringify(canonicalSnapshot(snapshot))).digest("hex");
}

/** Reads the live schema of the whole database and fingerprints it (one catalog read). */
export async function readSchemaFingerprint(db: Queryable): Promise<SchemaFingerprint> {
  const snapshot = canonicalSnapshot(await readCatalogSnapshot(db));
  return { fingerprint: fingerprintOf(snapshot), snapshot };
}

/** What changed between the schema a ledger row recorded and the live one, in words (`column public.users.nickname added: text NULL`). */
export function describeDrift(recorded: CatalogSnapshot, live: CatalogSnapshot): string[] {
  return diffCatalogSnapshots(recorded, live).map(describeCatalogDifference);
}
