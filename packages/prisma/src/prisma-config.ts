import { resolveMigrationUrl, type UrlPolicyOptions } from "@polymigrate/core";
import type { PrismaPg } from "@prisma/adapter-pg";
import type { PoolConfig } from "pg";

/** Options of {@link createDirectPrismaAdapter}. */
export interface DirectPrismaAdapterOptions extends Pick<UrlPolicyOptions, "urlEnv" | "pooledUrlEnv" | "env" | "pooledHosts" | "allowPooledUrl"> {
  /** The PostgreSQL schema Prisma migrates (PrismaPg's `schema`); default `public`. */
  databaseSchema?: string;
  /** More pool settings for node-postgres (the connection string always comes from the direct-URL policy). */
  pool?: Omit<PoolConfig, "connectionString">;
}

/** Options of {@link defineDirectPrismaConfig}: where the schema and migrations are, and the connection's options. */
export interface DirectPrismaConfigOptions extends DirectPrismaAdapterOptions {
  /** The Prisma schema file or folder, relative to the configuration file (Prisma's `schema`). */
  schema?: string;
  /** Prisma's `migrations` block (`path`, `seed`). */
  migrations?: { path?: string; seed?: string };
}

/** The configuration {@link defineDirectPrismaConfig} returns, for Prisma 6's `defineConfig`. */
export interface DirectPrismaConfig {
  experimental: { adapter: true };
  engine: "js";
  schema?: string;
  migrations?: { path?: string; seed?: string };
  adapter: () => Promise<PrismaPg>;
}

// PostgreSQL's `name` (19) and `"char"` (18) catalog types, which @prisma/adapter-pg 6.19 cannot deserialize
// ("Column type 'name' could not be deserialized", https://github.com/prisma/prisma/issues/27403). Their values are
// text on the wire, so reporting them as `text` (25) is exact.
const TEXT_LIKE_OIDS = new Set([18, 19]);
const TEXT_OID = 25;

interface QueryField {
  dataTypeID: number;
}

function mapCatalogTypesToText<T>(result: T): T {
  for (const item of Array.isArray(result) ? result : [result]) {
    const fields = (item as { fields?: QueryField[] } | null)?.fields;
    for (const field of fields ?? []) if (TEXT_LIKE_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
  }
  return result;
}

interface PatchableClient {
  query: (...args: unknown[]) => unknown;
}

// node-postgres calls `client.query` with a callback from `pool.query`, and without one (a promise) from a checked
// out client: both paths go through here.
function patchClient(client: PatchableClient): void {
  const query = client.query.bind(client);
  client.query = (...args: unknown[]) => {
    const last = args[args.length - 1];
    if (typeof last === "function") {
      args[args.length - 1] = (error: unknown, result: unknown) => last(error, error ? result : mapCatalogTypesToText(result));
    }
    const returned = query(...args);
    return returned && typeof (returned as Promise<unknown>).then === "function"
      ? (returned as Promise<unknown>).then(mapCatalogTypesToText)
      : returned;
  };
}

interface PoolLike {
  on(event: "connect", listener: (client: PatchableClient) => void): unknown;
}

interface AdapterLike {
  underlyingDriver(): PoolLike;
}

function patchAdapter<T extends AdapterLike>(adapter: T): T {
  adapter.underlyingDriver().on("connect", patchClient);
  return adapter;
}

/**
 * The URL Prisma's CLI should migrate with, through the same direct-URL policy as `migrate`: `DIRECT_URL` first,
 * `DATABASE_URL` only when it is not pooled, and a clear refusal for a pooled one. On Prisma 7, use it as
 * `datasource: { url: resolveDirectUrl() }` in `prisma.config.ts`.
 */
export function resolveDirectUrl(options: Omit<DirectPrismaAdapterOptions, "databaseSchema" | "pool"> = {}): string {
  return resolveMigrationUrl({
    ...(options.env ? { env: options.env } : {}),
    ...(options.urlEnv ? { urlEnv: options.urlEnv } : {}),
    ...(options.pooledUrlEnv ? { pooledUrlEnv: options.pooledUrlEnv } : {}),
    ...(options.pooledHosts ? { pooledHosts: options.pooledHosts } : {}),
    ...(options.allowPooledUrl ? { allowPooledUrl: true } : {}),
  }).url;
}

/**
 * A `PrismaPg` driver-adapter factory for Prisma's CLI, connected through the same direct-URL policy as `migrate`
 * (`DIRECT_URL` first, `DATABASE_URL` only when it is not pooled, never a pooled URL), with the fixes Prisma 6.19's
 * WebAssembly schema engine needs: catalog types mapped to text (prisma/prisma#27403) and an idle pool that lets the
 * process exit.
 *
 * @example
 * // prisma.config.ts
 * export default defineConfig({ experimental: { adapter: true }, engine: "js", adapter: () => createDirectPrismaAdapter() });
 */
export async function createDirectPrismaAdapter(options: DirectPrismaAdapterOptions = {}): Promise<PrismaPg> {
  const url = resolveDirectUrl(options);
  const { PrismaPg } = await import("@prisma/adapter-pg");
  const factory = new PrismaPg(
    { allowExitOnIdle: true, ...options.pool, connectionString: url },
    options.databaseSchema ? { schema: options.databaseSchema } : undefined,
  );
  // The schema engine connects through `connect()` (and `connectToShadowDb()` for `migrate dev`): both pools get the
  // catalog-type fix on every connection they open.
  const connect = factory.connect.bind(factory);
  const connectToShadowDb = factory.connectToShadowDb.bind(factory);
  factory.connect = async () => patchAdapter(await connect());
  factory.connectToShadowDb = async () => patchAdapter(await connectToShadowDb());
  return factory;
}

/**
 * The `prisma.config.ts` settings that run Prisma 6's CLI on its WebAssembly schema engine (no native engine
 * download) over the direct URL the policy accepts. Pass the result to Prisma's `defineConfig`. The URL is resolved
 * only when a command connects. Prisma 7 has no such engine switch: there, set `datasource: { url: resolveDirectUrl() }`.
 *
 * @example
 * // prisma.config.ts
 * import { defineConfig } from "prisma/config";
 * import { defineDirectPrismaConfig } from "@polymigrate/prisma/config";
 * export default defineConfig(defineDirectPrismaConfig({ schema: "prisma/schema.prisma" }));
 */
export function defineDirectPrismaConfig(options: DirectPrismaConfigOptions = {}): DirectPrismaConfig {
  const { schema, migrations, ...adapterOptions } = options;
  return {
    experimental: { adapter: true },
    engine: "js",
    ...(schema ? { schema } : {}),
    ...(migrations ? { migrations } : {}),
    adapter: () => createDirectPrismaAdapter(adapterOptions),
  };
}
