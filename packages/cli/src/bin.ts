#!/usr/bin/env node
import { main } from "./main.js";

// The only place that exits. On SIGINT/SIGTERM the process ends at once: closing its sessions makes the server roll
// back the open transaction and release the migration lock.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nmigrate: stopped by ${signal}; the server rolls back the open transaction and releases the lock.\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}
process.exitCode = await main(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
