import { describe, expect, it } from "vitest";
import { formatDatabaseUrl, parseDatabaseUrl } from "./database-url.js";

const NO_ENV = { env: {} };

describe("parseDatabaseUrl", () => {
  it("reads the host and port node-postgres connects to: query parameters override the authority", () => {
    expect(parseDatabaseUrl("postgresql://u:p@db.internal:5432/app?host=other&port=6432", NO_ENV)).toMatchObject({
      user: "u",
      password: "p",
      database: "app",
      endpoints: [{ host: "other", port: 6432, isSocket: false }],
    });
    expect(parseDatabaseUrl("postgresql://u@h/app?user=v&password=%40x", NO_ENV)).toMatchObject({ user: "v", password: "@x" });
  });

  it("fills an empty host and port as node-postgres does, from PGHOST and PGPORT or localhost:5432", () => {
    expect(parseDatabaseUrl("postgresql:///app", NO_ENV).endpoints).toEqual([{ host: "localhost", port: 5432, isSocket: false }]);
    expect(parseDatabaseUrl("postgresql:///app", { env: { PGHOST: "pg.internal", PGPORT: "5433" } }).endpoints).toEqual([
      { host: "pg.internal", port: 5433, isSocket: false },
    ]);
  });

  it("reads Unix sockets, IPv6 addresses and every host of a list", () => {
    expect(parseDatabaseUrl("postgresql://u@%2Fvar%2Frun%2Fpostgresql/app", NO_ENV).endpoints).toEqual([
      { host: "/var/run/postgresql", port: 5432, isSocket: true },
    ]);
    expect(parseDatabaseUrl("postgresql://u@[::1]:5433/app", NO_ENV).endpoints).toEqual([{ host: "::1", port: 5433, isSocket: false }]);
    expect(parseDatabaseUrl("postgresql://u@x/app?host=a,b&port=5432,6543", NO_ENV).endpoints).toEqual([
      { host: "a", port: 5432, isSocket: false },
      { host: "b", port: 6543, isSocket: false },
    ]);
  });

  it("does not read certificate files while parsing", () => {
    const parsed = parseDatabaseUrl("postgresql://u@h/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", NO_ENV);
    expect(parsed.parameters).toEqual([
      ["sslmode", "verify-full"],
      ["sslrootcert", "/nonexistent/ca.pem"],
    ]);
  });

  // pg-connection-string reads this one as password "Zq7", host "very" and database "secret%x@db:5432/app", and libpq
  // splits it at the first "@" too: neither is what was meant, so it is refused rather than read.
  it.each([
    ["postgresql://app:Zq7@very/secret%x@db:5432/app", "bad-percent"],
    ["postgresql://app:Zq7@very/secret@db:5432/app", "stray-at"],
    ["postgresql://app:p@ss@db:5432/app", "stray-at"],
    ["postgresql://app:12?x@db:5432/app", "split-differs"],
    ["postgresql://h:5432/app?user=me@corp", "stray-at"],
  ])("refuses %s (%s)", (url, reason) => {
    expect(() => parseDatabaseUrl(url, { variable: "DIRECT_URL" })).toThrowError(
      expect.objectContaining({ code: "URL_INVALID", details: { variable: "DIRECT_URL", reason } }),
    );
  });

  it("accepts the same URLs percent-encoded", () => {
    const url = `postgresql://app:${encodeURIComponent("Zq7@very/secret%x")}@db:5432/app?application_name=me%40corp`;
    expect(parseDatabaseUrl(url, NO_ENV)).toMatchObject({ password: "Zq7@very/secret%x", endpoints: [{ host: "db", port: 5432 }] });
  });
});

describe("formatDatabaseUrl", () => {
  it("writes the parsed parts back, the password masked unless asked for", () => {
    const parsed = parseDatabaseUrl("postgresql://app:p%2Fw@db.internal/app?host=10.0.0.7&sslmode=require", NO_ENV);
    expect(formatDatabaseUrl(parsed)).toBe("postgresql://app:***@10.0.0.7:5432/app?sslmode=require");
    expect(formatDatabaseUrl(parsed, { showPassword: true })).toBe("postgresql://app:p%2Fw@10.0.0.7:5432/app?sslmode=require");
    expect(parseDatabaseUrl(formatDatabaseUrl(parsed, { showPassword: true }), NO_ENV)).toEqual(parsed);
  });
});
