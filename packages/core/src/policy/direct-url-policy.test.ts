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
    ["postgresql://u:p@pooled.db.prisma.io:5432/postgres?sslmode=require", "prisma-postgres-pooler-host"],
    ["postgresql://u:p@db.prisma.io:5432/postgres?sslmode=require", undefined],
    // node-postgres connects to the host and port of the query parameters, not to the authority's
    ["postgresql://u:p@db.internal:5432/app?host=ep-x-pooler.us-east-2.aws.neon.tech", "neon-pooler-host"],
    ["postgresql://u:p@db.internal:5432/app?host=pooled.db.prisma.io", "prisma-postgres-pooler-host"],
    ["postgresql://u:p@db.internal:5432/app?port=6543", "supabase-pooler-port"],
    ["postgresql://u:p@db.internal:6543/app?port=5432", undefined],
    ["postgresql://u:p@ep-x-pooler.neon.tech:5432/app?host=db.internal", undefined],
    // every host of a multi-host URL
    ["postgresql://u:p@db.internal,aws-0-eu.pooler.supabase.com:5432/app", "supabase-pooler-host"],
    ["postgresql://u:p@h/app?host=db.internal,ep-y-pooler.eu.aws.neon.tech&port=5432,5432", "neon-pooler-host"],
    ["postgresql://u:p@h/app?host=db.internal,db2.internal&port=5432,6543", "supabase-pooler-port"],
    // a Unix socket: its port names the socket file
    ["postgresql://u@/app?host=/var/run/postgresql&port=6543", "supabase-pooler-port"],
    ["postgresql://u@/app?host=/var/run/postgresql", undefined],
  ];
  it.each(cases)("%s → %s", (url, rule) => {
    expect(findPooledUrlRule(url)?.rule).toBe(rule);
  });

  it("derives Neon's direct host without switching to it", () => {
    const finding = findPooledUrlRule("postgresql://u:secret@ep-x-1-pooler.eu.aws.neon.tech/db?pgbouncer=true");
    expect(finding?.directUrl).toBe("postgresql://u:***@ep-x-1.eu.aws.neon.tech:5432/db");
    const through = findPooledUrlRule("postgresql://u:secret@db.internal/db?host=ep-x-1-pooler.eu.aws.neon.tech&sslmode=require");
    expect(through?.directUrl).toBe("postgresql://u:***@ep-x-1.eu.aws.neon.tech:5432/db?sslmode=require");
  });

  it("derives Prisma Postgres' direct host", () => {
    const finding = findPooledUrlRule("postgres://u:secret@pooled.db.prisma.io:5432/?sslmode=require");
    expect(finding?.directUrl).toBe("postgresql://u:***@db.prisma.io:5432/?sslmode=require");
  });

  it("honours hosts and projects the configuration marks as pooled", () => {
    expect(findPooledUrlRule("postgresql://h:5432/db", { pooledHosts: ["h"] })?.rule).toBe("marked-pooled");
    expect(findPooledUrlRule("postgresql://x:5432/db?host=H", { pooledHosts: ["h"] })?.rule).toBe("marked-pooled");
    expect(findPooledUrlRule("postgresql://h:5432/db", { isMarkedPooled: true })?.rule).toBe("marked-pooled");
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

  it("shows the host that node-postgres really connects to", () => {
    const resolved = resolveMigrationUrl({ env: { DIRECT_URL: "postgresql://u:pw@db.internal:5432/app?host=10.0.0.7&port=5433" } });
    expect(resolved.display).toBe("postgresql://u:***@10.0.0.7:5433/app");
  });

  it("refuses a password with unencoded reserved characters, saying how to encode it and never echoing it", () => {
    for (const url of [
      "postgresql://app:Zq7@very/secret%x@db:5432/app",
      "postgresql://app:p@ss@db:5432/app",
      "postgresql://app:Zq7/secret@db:5432/app",
      "postgresql://app:12?secret@db:5432/app",
      "postgresql://app:12#secret@db:5432/app",
      "postgresql://app:50%off@db:5432/app",
    ]) {
      let error: unknown;
      try {
        resolveMigrationUrl({ env: { DIRECT_URL: url } });
      } catch (caught) {
        error = caught;
      }
      expect(error, url).toMatchObject({ code: "URL_INVALID" });
      const message = (error as Error).message;
      expect(message).toContain('"DIRECT_URL"');
      expect(message).toContain('"@" as %40, "/" as %2F');
      expect(message).not.toMatch(/secret|very|Zq7|p@ss|50%off/);
    }
    const encoded = resolveMigrationUrl({ env: { DIRECT_URL: `postgresql://app:${encodeURIComponent("Zq7@very/secret%x")}@db:5432/app` } });
    expect(encoded.display).toBe("postgresql://app:***@db:5432/app");
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
      env: { DIRECT_URL: "postgresql://u:First-secret-1@h/db", DATABASE_URL: "postgresql://u:second%40secret@h2/db" },
    });
    expect(redact("a First-secret-1 b second@secret c second%40secret")).toBe("a *** b *** c ***");
  });
});
