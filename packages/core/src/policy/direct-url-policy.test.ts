import { describe, expect, it } from "vitest";
import { findPooledUrlRule, resolveMigrationUrl } from "./direct-url-policy.js";
import { redact } from "./redact.js";

describe("findPooledUrlRule", () => {
  const cases: Array<[string, string | undefined]> = [
    ["postgresql://u:p@ep-cool-name-123456-pooler.us-east-2.aws.neon.tech/db?sslmode=require", "neon-pooler-host"],
    ["postgresql://u:p@aws-0-eu-central-1.pooler.supabase.com:5432/postgres", "supabase-pooler-host"],
    ["postgresql://u:p@db.abcdefgh.supabase.co:6543/postgres", "supabase-pooler-port"],
    ["postgresql://u:p@10.0.0.5:5432/app?pgbouncer=true", "pgbouncer-parameter"],
    ["postgresql://u:p@ep-cool-name-123456.us-east-2.aws.neon.tech/db", undefined],
    ["postgresql://u:p@db.abcdefgh.supabase.co:5432/postgres", undefined],
    ["postgresql://u:p@127.0.0.1:5432/app?pgbouncer=false", undefined],
  ];
  it.each(cases)("%s → %s", (url, rule) => {
    expect(findPooledUrlRule(new URL(url))?.rule).toBe(rule);
  });

  it("derives Neon's direct host without switching to it", () => {
    const finding = findPooledUrlRule(new URL("postgresql://u:secret@ep-x-1-pooler.eu.aws.neon.tech/db?pgbouncer=true"));
    expect(finding?.directUrl).toBe("postgresql://u:***@ep-x-1.eu.aws.neon.tech/db");
  });

  it("honours hosts and projects the configuration marks as pooled", () => {
    expect(findPooledUrlRule(new URL("postgresql://h:5432/db"), { pooledHosts: ["h"] })?.rule).toBe("marked-pooled");
    expect(findPooledUrlRule(new URL("postgresql://h:5432/db"), { isMarkedPooled: true })?.rule).toBe("marked-pooled");
  });
});

describe("resolveMigrationUrl", () => {
  it("prefers DIRECT_URL over DATABASE_URL", () => {
    const resolved = resolveMigrationUrl({
      env: { DIRECT_URL: "postgresql://u:pw1@direct:5432/db", DATABASE_URL: "postgresql://u:pw2@x-pooler.neon.tech/db" },
    });
    expect(resolved.source).toBe("DIRECT_URL");
    expect(resolved.display).toBe("postgresql://u:***@direct:5432/db");
  });

  it("uses DATABASE_URL alone with a notice when it is not pooled", () => {
    const resolved = resolveMigrationUrl({ env: { DATABASE_URL: "postgresql://u@db:5432/app" } });
    expect(resolved.source).toBe("DATABASE_URL");
    expect(resolved.decisions[0]).toMatchObject({ decision: "warned" });
    expect(resolved.decisions[0]?.message).toContain('"DIRECT_URL" is not set');
  });

  it("refuses a pooled DATABASE_URL naming the rule and the variable to set", () => {
    expect(() => resolveMigrationUrl({ env: { DATABASE_URL: "postgresql://u:pw@h:6543/db" } })).toThrowError(
      /rule "supabase-pooler-port".*Set "DIRECT_URL"/s,
    );
  });

  it("names the variables it looked at when there is no URL", () => {
    expect(() => resolveMigrationUrl({ env: {}, urlEnv: "CORE_DIRECT_URL" })).toThrowError(
      'neither "CORE_DIRECT_URL" nor "DATABASE_URL" is set',
    );
  });

  it("lets the loud override through and records it", () => {
    const resolved = resolveMigrationUrl({ env: { DIRECT_URL: "postgresql://u@h/db?pgbouncer=true" }, allowPooledUrl: true });
    expect(resolved.decisions[0]).toMatchObject({ decision: "warned", rule: "pgbouncer-parameter" });
  });

  it("rejects a non-PostgreSQL or unparsable URL without echoing it", () => {
    expect(() => resolveMigrationUrl({ env: { DIRECT_URL: "mysql://u:topsecret@h/db" } })).toThrowError(/uses "mysql:"/);
    let message = "";
    try {
      resolveMigrationUrl({ env: { DIRECT_URL: "not a url with topsecret2" } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('"DIRECT_URL" is not a URL');
    expect(message).not.toContain("topsecret2");
  });

  it("remembers both passwords for redaction", () => {
    resolveMigrationUrl({
      env: { DIRECT_URL: "postgresql://u:first-secret@h/db", DATABASE_URL: "postgresql://u:second%40secret@h2/db" },
    });
    expect(redact("a first-secret b second@secret c second%40secret")).toBe("a *** b *** c ***");
  });
});
