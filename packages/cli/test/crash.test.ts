import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { collectOutput } from "@polymigrate/testing";

// The crash test of issue 12 in the suite, with a small count per stack: scripts/crash-test.mjs kills `migrate up`
// at random moments and checks exactly-once after the next `up`. The long runs are `--iterations 100` by hand.
const SCRIPT = fileURLToPath(new URL("../../../scripts/crash-test.mjs", import.meta.url));
const ITERATIONS: Record<string, number> = { sql: 6, drizzle: 6, prisma: 5, alembic: 5 };

interface CrashSummary {
  seed: number;
  iterations: number;
  exactlyOnce: number;
  refused: number;
  violations: number;
  killed: number;
  results: Array<{ iteration: number; outcome: string; killAfterMs: number | null; problems: string[]; evidence?: unknown }>;
}

async function runCrashTest(stack: string, iterations: number): Promise<CrashSummary> {
  // A seed of its own each run explores more moments; POLYMIGRATE_CRASH_SEED replays a failure's.
  const seed = process.env.POLYMIGRATE_CRASH_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
  const child = spawn(process.execPath, [SCRIPT, "--stack", stack, "--iterations", String(iterations), "--seed", seed, "--calibrations", "1", "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const result = await collectOutput(child, 240_000);
  try {
    return JSON.parse(result.stdout) as CrashSummary;
  } catch {
    throw new Error(`crash-test.mjs --stack ${stack} --seed ${seed} printed no report (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  }
}

describe.concurrent("kill -9 during up, then up again: each migration exactly once, or the allowed refusal", () => {
  for (const [stack, iterations] of Object.entries(ITERATIONS)) {
    it(`on the ${stack} stack`, { timeout: 300_000 }, async () => {
      const summary = await runCrashTest(stack, iterations);
      const violations = summary.results.filter((result) => result.outcome === "violation");
      expect(violations, `seed ${summary.seed}: ${JSON.stringify(violations, null, 2)}`).toEqual([]);
      expect(summary.iterations).toBe(iterations);
      expect(summary.exactlyOnce + summary.refused).toBe(iterations);
      expect(summary.killed).toBeGreaterThan(0);
    });
  }
});
