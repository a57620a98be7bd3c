import { MigrateError } from "../model/errors.js";
import type { PolicyDecision } from "../model/report.js";
import { redactUrl, rememberSecret } from "./redact.js";

/** A rule that recognises a pooled URL. */
export type PooledUrlRule = "neon-pooler-host" | "supabase-pooler-host" | "supabase-pooler-port" | "pgbouncer-parameter" | "marked-pooled";

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
  /** The direct URL to use instead, when it can be derived (Neon). */
  directUrl?: string;
}

/** Checks a URL against the pooled-URL rules; returns the first rule that fires. */
export function findPooledUrlRule(
  url: URL,
  options: { isMarkedPooled?: boolean; pooledHosts?: string[] } = {},
): PooledUrlFinding | undefined {
  const host = url.hostname.toLowerCase();
  if (options.isMarkedPooled) {
    return { rule: "marked-pooled", reason: "the configuration marks this URL as pooled" };
  }
  if (options.pooledHosts?.some((pooled) => pooled.toLowerCase() === host)) {
    return { rule: "marked-pooled", reason: `the configuration lists host "${host}" as a pooler` };
  }
  const firstLabel = host.split(".")[0] ?? "";
  if (firstLabel.endsWith("-pooler")) {
    const direct = new URL(url.toString());
    direct.hostname = host.replace(/-pooler(?=\.|$)/, "");
    direct.searchParams.delete("pgbouncer");
    return {
      rule: "neon-pooler-host",
      reason: `host "${host}" is Neon's pooler (its name contains "-pooler")`,
      directUrl: redactUrl(direct),
    };
  }
  if (host.endsWith(".pooler.supabase.com") || host === "pooler.supabase.com") {
    return { rule: "supabase-pooler-host", reason: `host "${host}" is Supabase's pooler (Supavisor)` };
  }
  if (url.port === "6543") {
    return { rule: "supabase-pooler-port", reason: "port 6543 is the port of Supabase's transaction-mode pooler" };
  }
  if ((url.searchParams.get("pgbouncer") ?? "").toLowerCase() === "true") {
    return { rule: "pgbouncer-parameter", reason: 'the URL carries "pgbouncer=true"' };
  }
  return undefined;
}

function parseUrl(value: string, variable: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch (cause) {
    throw new MigrateError(
      "URL_INVALID",
      `The value of "${variable}" is not a URL. Set it to a PostgreSQL URL such as postgresql://user:password@host:5432/database.`,
      { details: { variable }, cause: new Error("invalid URL (value withheld)") },
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new MigrateError(
      "URL_INVALID",
      `The URL in "${variable}" uses "${parsed.protocol}", not "postgresql:". Polymigrate migrates PostgreSQL only; set "${variable}" to a postgresql:// URL.`,
      { details: { variable, protocol: parsed.protocol } },
    );
  }
  rememberSecret(parsed.password);
  return parsed;
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
    if (value) {
      try {
        rememberSecret(new URL(value).password);
      } catch {
        // reported below when this variable is the one used
      }
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

  const parsed = parseUrl(value, source);
  const finding = findPooledUrlRule(parsed, options);
  if (finding) {
    const instead =
      source === urlEnv
        ? `Set "${urlEnv}" to the database's direct URL`
        : `Set "${urlEnv}" to the database's direct URL ("${pooledUrlEnv}" is the application's pooled URL)`;
    const neon = finding.directUrl ? ` For Neon the direct URL is the same host without "-pooler": ${finding.directUrl}` : "";
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
