import { describe, expect, it } from "vitest";
import { describePrismaFailure, type PrismaCli } from "./prisma-cli.js";

const prisma6: PrismaCli = { entry: "/x/prisma/build/index.js", version: "6.19.3", major: 6 };
const prisma7: PrismaCli = { entry: "/x/prisma/build/index.js", version: "7.0.0", major: 7 };
const args = ["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"];

describe("describePrismaFailure", () => {
  it("says that the engine cannot be downloaded, and what to do on Prisma 6 and 7", () => {
    const stderr =
      "Error: request to https://binaries.prisma.sh/all_commits/abc/debian-openssl-3.0.x/libquery_engine.so.node.gz.sha256 failed, reason: getaddrinfo ENOTFOUND binaries.prisma.sh";
    const six = describePrismaFailure(prisma6, args, "/app", { exitCode: 1, stdout: "", stderr });
    expect(six.code).toBe("TOOL_UNAVAILABLE");
    expect(six.message).toContain('"prisma migrate diff" cannot run here');
    expect(six.message).toContain("defineDirectPrismaConfig");
    const seven = describePrismaFailure(prisma7, args, "/app", { exitCode: 1, stdout: "", stderr });
    expect(seven.message).toContain("Use prisma@6.19.3");
  });

  it("says that the database cannot be reached", () => {
    const error = describePrismaFailure(prisma6, args, "/app", {
      exitCode: 1,
      stdout: "",
      stderr: "Error: P1001: Can't reach database server at `db:5432`\nPlease make sure your database server is running at `db:5432`.",
    });
    expect(error.code).toBe("CONNECTION_FAILED");
    expect(error.message).toContain("DIRECT_URL");
  });

  it("passes anything else on as a failed child process, its output tail redacted", () => {
    const error = describePrismaFailure(prisma6, args, "/app", {
      exitCode: 1,
      stdout: "",
      stderr: "Error: schema invalid near postgresql://app:hunter22@db/app",
    });
    expect(error.code).toBe("CHILD_PROCESS_FAILED");
    expect(error.message).not.toContain("hunter22");
    expect(JSON.stringify(error.details)).not.toContain("hunter22");
  });
});
