// Runs one command as a whole process and measures its wall time and peak resident memory (GNU time's %M).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TIME = "/usr/bin/time";
const scratch = mkdtempSync(join(tmpdir(), "polymigrate-bench-"));
let counter = 0;

/**
 * Spawns `command args` (no shell) in `cwd` with `env` added to the environment, under /usr/bin/time for the peak
 * RSS (of the process or its largest waited-for child). Resolves { seconds, rssMb, exitCode, stdout, stderr }.
 */
export function measure({ command, args, cwd, env, timeoutSeconds }) {
  const timeFile = join(scratch, `time-${(counter += 1)}`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(TIME, ["-f", "%M", "-o", timeFile, command, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let timedOut = false;
    // A command slower than the limit is stopped (its whole process group) and reported as "> limit".
    const timer = timeoutSeconds
      ? setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }, timeoutSeconds * 1000)
      : undefined;
    const out = [];
    const err = [];
    child.stdout.on("data", (chunk) => out.push(chunk));
    child.stderr.on("data", (chunk) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let rssMb = NaN;
      try {
        const lines = readFileSync(timeFile, "utf8").trim().split("\n");
        rssMb = Number(lines[lines.length - 1]) / 1024;
        rmSync(timeFile, { force: true });
      } catch {
        // no time file: the command could not start
      }
      resolve({ seconds, rssMb, timedOut, exitCode: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

export function cleanupScratch() {
  rmSync(scratch, { recursive: true, force: true });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
