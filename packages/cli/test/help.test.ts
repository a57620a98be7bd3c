import { describe, expect, it } from "vitest";
import { createTestProject, runCli } from "@polymigrate/testing";

const cwd = createTestProject().dir;

describe("help and usage errors", () => {
  it("lists every command with one line each", async () => {
    const result = await runCli(["--help"], { cwd });
    expect(result.exitCode).toBe(0);
    const commands = ["status", "up", "down", "create <name>", "draft-down <id>", "resolve", "verify", "lint", "plan", "history"];
    for (const command of [...commands, "baseline", "rehearse", "doctor", "push", "reset"]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\s+\\S`, "m"));
    }
    expect(result.stdout).toContain("Exit codes: 0 success, 1 a migration or connection failed, 2 refused by a policy or bad usage.");
    expect((await runCli([], { cwd })).stdout).toBe(result.stdout);
  });

  it.each(["status", "up", "deploy", "down", "create", "draft-down", "resolve", "verify", "lint", "plan", "history", "baseline", "rehearse", "doctor", "push", "reset"])(
    "explains %s with its options and examples",
    async (command) => {
      const result = await runCli([command, "--help"], { cwd });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^Usage: migrate /);
      expect(result.stdout).toContain("Examples:");
      expect(result.stdout).toContain("--project <name>");
    },
  );

  it.each([
    [["stauts"], '"stauts" is not a migrate command. Did you mean "migrate status"?'],
    [["up", "--lok-wait", "2s"], '"migrate up" has no option "--lok-wait". Did you mean "--lock-wait"?'],
    [["down", "--steps", "zero"], '--steps takes a whole number of 1 or more, not "zero".'],
    [["up", "--lock-wait", "soon"], '--lock-wait is "soon", not a duration; use a number with a unit, such as "500ms", "5s", "2min" or "1h"'],
    [["up", "--lock-timeout", "5000"], '--lock-timeout is "5000": a bare number is seconds'],
    [["create"], '"migrate create" needs a name for the migration'],
    [["status", "extra"], '"migrate status" does not take "extra".'],
    [["--json", "status"], '"--json" comes before a command.'],
    [["resolve"], "needs exactly one of --applied <id> or --rolled-back <id>"],
  ])("refuses %j with exit 2 and a helpful message", async (args, message) => {
    const result = await runCli(args, { cwd });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
