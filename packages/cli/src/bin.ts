#!/usr/bin/env node
import { main } from "./main.js";

// The only place that exits. The first SIGINT/SIGTERM asks the run to stop at its next safe point: the migration in a
// transaction is cancelled and rolled back, one outside a transaction finishes, its bookkeeping and the ledger are
// written, and the exit code says which signal (130, 143). A second signal ends the process at once: the server then
// rolls back the open transaction and releases the lock, and a migration outside a transaction stays recorded as
// started and unfinished.
const stop = new AbortController();
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) {
      process.stderr.write(`\nmigrate: stopped at once by a second ${signal}.\n`);
      process.exit(EXIT_CODES[signal]);
    }
    process.stderr.write(`\nmigrate: ${signal} received: stopping after the current step (press Ctrl-C again to stop at once).\n`);
    stop.abort(new Error(signal));
  });
}

// A closed stdout or stderr (`migrate up | head -1`) is not a crash: output stops, the run and its records go on.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
  });
}

const exitCode = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal,
});
const reason = stop.signal.reason as Error | undefined;
process.exitCode = reason && reason.message in EXIT_CODES ? EXIT_CODES[reason.message as keyof typeof EXIT_CODES] : exitCode;
