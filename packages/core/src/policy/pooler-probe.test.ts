import { describe, expect, it } from "vitest";
import { isMigrateError } from "../model/errors.js";
import { decidePoolerPolicy, type PoolerProbeResult } from "./pooler-probe.js";

const URL_WITH_PASSWORD = "postgresql://app:S3cret-probe-pw@127.0.0.1:6432/appdb?sslmode=disable";

function probe(verdict: PoolerProbeResult["verdict"], serverAddress?: { host: string; port: number }): PoolerProbeResult {
  return {
    verdict,
    evidence: verdict === "direct" ? ["pids equal"] : ["handshake pid 1 differs from pg_backend_pid() 2", "the setting was gone"],
    handshakePid: 1,
    backendPid: 2,
    ...(serverAddress ? { serverAddress } : {}),
  };
}

function refusal(result: PoolerProbeResult, allowPooledUrl = false): unknown {
  try {
    decidePoolerPolicy(result, { url: URL_WITH_PASSWORD, source: "DIRECT_URL", allowPooledUrl });
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("decidePoolerPolicy", () => {
  it("allows a direct connection without a warning", () => {
    const decision = decidePoolerPolicy(probe("direct"), { url: URL_WITH_PASSWORD, source: "DIRECT_URL" });
    expect(decision).toMatchObject({ policy: "pooler-probe", decision: "allowed", rule: "direct" });
  });

  it("warns on a session-mode pooler, naming the variable", () => {
    const decision = decidePoolerPolicy(probe("session-pooler"), { url: URL_WITH_PASSWORD, source: "MIGRATE_URL" });
    expect(decision.decision).toBe("warned");
    expect(decision.message).toContain('session-mode pooler was detected at run time on the URL in "MIGRATE_URL"');
  });

  it("refuses a transaction-mode pooler with URL_POOLED, the evidence, the direct host and no password", () => {
    const error = refusal(probe("transaction-pooler", { host: "10.0.0.7", port: 5432 }));
    expect(isMigrateError(error) && error.code).toBe("URL_POOLED");
    const message = (error as Error).message;
    expect(message).toContain('A transaction-mode pooler was detected at run time on the URL in "DIRECT_URL"');
    expect(message).toContain("the setting was gone");
    expect(message).toContain("postgresql://app:***@10.0.0.7:5432/appdb?sslmode=disable");
    expect(message).toContain("--allow-pooled-url");
    expect(message).not.toContain("S3cret-probe-pw");
    expect(JSON.stringify((error as { details: unknown }).details)).not.toContain("S3cret-probe-pw");
  });

  it("suggests a direct URL without the pooler's ?host= and ?port=", () => {
    let error: unknown;
    try {
      decidePoolerPolicy(probe("transaction-pooler", { host: "10.0.0.7", port: 5432 }), {
        url: "postgresql://app:S3cret-probe-pw@db.internal:5432/appdb?host=10.0.0.9&port=6432&sslmode=disable",
        source: "DIRECT_URL",
      });
    } catch (caught) {
      error = caught;
    }
    const message = (error as Error).message;
    expect(message).toContain("(postgresql://app:***@10.0.0.9:6432/appdb?sslmode=disable)");
    expect(message).toContain("the direct URL is probably postgresql://app:***@10.0.0.7:5432/appdb?sslmode=disable ");
    expect(message).not.toContain("port=6432");
  });

  it("leaves the direct URL out when the server is reached over a Unix socket", () => {
    const message = (refusal(probe("transaction-pooler")) as Error).message;
    expect(message).toContain("Set \"DIRECT_URL\" to the server's direct host and port");
    expect(message).not.toContain("probably");
  });

  it("only warns, loudly, under --allow-pooled-url", () => {
    const decision = decidePoolerPolicy(probe("transaction-pooler"), { url: URL_WITH_PASSWORD, source: "DIRECT_URL", allowPooledUrl: true });
    expect(decision).toMatchObject({ decision: "warned", rule: "transaction-pooler" });
    expect(decision.message).toMatch(/^--allow-pooled-url: migrating through it anyway\. A transaction-mode pooler/);
    expect(decision.message).not.toContain("S3cret-probe-pw");
  });
});
