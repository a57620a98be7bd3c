import { MigrateError } from "../model/errors.js";
import type { PolicyDecision } from "../model/report.js";
import { parseDatabaseUrl, type DatabaseUrl } from "../db/database-url.js";
import { redactUrl, rememberSecret } from "./redact.js";

/** A rule that recognises a pooled URL. */
export type PooledUrlRule =
  | "neon-pooler-host"
  | "supabase-pooler-host"
  | "supabase-pooler-port"
  | "prisma-postgres-pooler-host"
  | "pgbouncer-parameter"
  | "marked-pooled";

/** Where a project's migration URL comes from. */
export interface UrlPolicyOptions {
  /** The variable that holds the direct URL. Default `DIRECT_URL`. */
  urlEnv?: string;
  /** The application's (usually pooled) URL variable, used only when it is not pooled. Default `DATABASE_URL`. */
  pooledUrlEnv?: string;
  /** The environment to read; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** The configuration marks this project's URL as pooled. */
  isMarkedPooled?: boolean;
  /** Hosts the configuration marks as pooled (exact names). */
  pooledHosts?: string[];
  /** The loud override: run over a URL that looks pooled. */
  allowPooledUrl?: boolean;
}

/** A URL that passed the policy, with the decisions taken on the way. */
export interface ResolvedUrl {
  url: string;
  /** The URL for display, without its password. */
  display: string;
  /** The variable it came from. */
  source: string;
  decisions: PolicyDecision[];
}

/** One rule's verdict on a URL. */
export interface PooledUrlFinding {
  rule: PooledUrlRule;
  reason: string;
  /** The direct URL to use instead, for display, when it can be derived (Neon, Prisma Postgres). */
  directUrl?: string;
}

function withHost(url: DatabaseUrl, index: number, host: string): string {
  const endpoints = url.endpoints.map((endpoint, at) => (at === index ? { ...endpoint, host } : endpoint));
  return redactUrl({ ...url, endpoints, parameters: url.parameters.filter(([key]) => key !== "pgbouncer") });
}

/**
 * Checks a URL against the pooled-URL rules and returns the first rule that fires. The rules read the URL as
 * node-postgres connects with it: the `host` and `port` query parameters override the authority, and every host of
 * a multi-host URL is checked.
 */
export function findPooledUrlRule(
  url: string | URL | DatabaseUrl,
  options: { isMarkedPooled?: boolean; pooledHosts?: string[] } = {},
): PooledUrlFinding | undefined {
  const parsed = typeof url === "object" && "endpoints" in url ? url : parseDatabaseUrl(String(url));
  if (options.isMarkedPooled) {
    return { rule: "marked-pooled", reason: "the configuration marks this URL as pooled" };
  }
  const hosts = parsed.endpoints.map((endpoint, index) => ({ ...endpoint, name: endpoint.host.toLowerCase(), index }));
  const marked = hosts.find((host) => options.pooledHosts?.some((pooled) => pooled.toLowerCase() === host.name));
  if (marked) return { rule: "marked-pooled", reason: `the configuration lists host "${marked.name}" as a pooler` };
  const tcp = hosts.filter((host) => !host.isSocket);
  const neon = tcp.find((host) => (host.name.split(".")[0] ?? "").endsWith("-pooler"));
  if (neon) {
    return {
      rule: "neon-pooler-host",
      reason: `host "${neon.name}" is Neon's pooler (its name contains "-pooler")`,
      directUrl: withHost(parsed, neon.index, neon.name.replace(/-pooler(?=\.|$)/, "")),
    };
  }
  const supabase = tcp.find((host) => host.name.endsWith(".pooler.supabase.com") || host.name === "pooler.supabase.com");
  if (supabase) return { rule: "supabase-pooler-host", reason: `host "${supabase.name}" is Supabase's pooler (Supavisor)` };
  const prisma = tcp.find((host) => host.name === "pooled.db.prisma.io" || host.name.endsWith(".pooled.db.prisma.io"));
  if (prisma) {
    return {
      rule: "prisma-postgres-pooler-host",
      reason: `host "${prisma.name}" is Prisma Postgres' connection pooler`,
      directUrl: withHost(parsed, prisma.index, prisma.name.replace(/pooled\.db\.prisma\.io$/, "db.prisma.io")),
    };
  }
  const supabasePort = hosts.find((host) => host.port === 6543);
  if (supabasePort) {
    const of = hosts.length > 1 ? ` (of host "${supabasePort.name}")` : "";
    return { rule: "supabase-pooler-port", reason: `port 6543${of} is the port of Supabase's transaction-mode pooler` };
  }
  if (parsed.parameters.some(([key, value]) => key === "pgbouncer" && value.toLowerCase() === "true")) {
    return { rule: "pgbouncer-parameter", reason: 'the URL carries "pgbouncer=true"' };
  }
  return undefined;
}

/**
 * Resolves the URL a project migrates with: the direct URL first, the application's URL only when it is not pooled,
 * and never a URL that looks pooled unless the loud override is set.
 *
 * @example
 * const { url } = resolveMigrationUrl({ env: process.env });
 */
export function resolveMigrationUrl(options: UrlPolicyOptions = {}): ResolvedUrl {
  const env = options.env ?? process.env;
  const urlEnv = options.urlEnv ?? "DIRECT_URL";
  const pooledUrlEnv = options.pooledUrlEnv ?? "DATABASE_URL";
  rememberSecret(env.PGPASSWORD);
  const decisions: PolicyDecision[] = [];

  const direct = env[urlEnv];
  const application = env[pooledUrlEnv];
  // Remember both passwords before anything can fail, so that no message can print either.
  for (const value of [direct, application]) {
    if (!value) continue;
    try {
      rememberSecret(parseDatabaseUrl(value).password);
    } catch {
      // reported below when this variable is the one used; the text redaction masks any URL's password field
    }
    try {
      rememberSecret(decodeURIComponent(new URL(value).password));
    } catch {
      // not a WHATWG URL either: nothing more to remember
    }
  }

  let source: string;
  let value: string;
  if (direct) {
    source = urlEnv;
    value = direct;
  } else if (application) {
    source = pooledUrlEnv;
    value = application;
  } else {
    throw new MigrateError(
      "URL_MISSING",
      `No database URL: neither "${urlEnv}" nor "${pooledUrlEnv}" is set. Set "${urlEnv}" to the direct (not pooled) URL of the database to migrate.`,
      { details: { variables: [urlEnv, pooledUrlEnv] } },
    );
  }

  const parsed = parseDatabaseUrl(value, { variable: source });
  const finding = findPooledUrlRule(parsed, options);
  if (finding) {
    const instead =
      source === urlEnv
        ? `Set "${urlEnv}" to the database's direct URL`
        : `Set "${urlEnv}" to the database's direct URL ("${pooledUrlEnv}" is the application's pooled URL)`;
    const neon = !finding.directUrl
      ? ""
      : finding.rule === "neon-pooler-host"
        ? ` For Neon the direct URL is the same host without "-pooler": ${finding.directUrl}`
        : ` For Prisma Postgres the direct host is "db.prisma.io": ${finding.directUrl}`;
    const message = `Refusing the URL in "${source}" (rule "${finding.rule}"): ${finding.reason}. A transaction-mode pooler breaks DDL, session settings and locks. ${instead}.${neon}`;
    if (!options.allowPooledUrl) {
      throw new MigrateError("URL_POOLED", `${message} To run anyway, pass --allow-pooled-url.`, {
        details: { variable: source, rule: finding.rule, directUrl: finding.directUrl },
      });
    }
    decisions.push({
      policy: "direct-url",
      decision: "warned",
      rule: finding.rule,
      message: `--allow-pooled-url: migrating over a URL that looks pooled (rule "${finding.rule}": ${finding.reason}). DDL, session settings and the migration lock may fail or misbehave.`,
    });
  } else if (source === pooledUrlEnv) {
    decisions.push({
      policy: "direct-url",
      decision: "warned",
      message: `"${urlEnv}" is not set: using "${pooledUrlEnv}", which does not look pooled. Set "${urlEnv}" to make the direct URL explicit.`,
    });
  } else {
    decisions.push({ policy: "direct-url", decision: "allowed", message: `Using "${urlEnv}".` });
  }
  return { url: value, display: redactUrl(parsed), source, decisions };
}
