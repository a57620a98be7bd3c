// Runs the pnpm version pinned in package.json#packageManager through npx, so that only node and npm are assumed.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const { packageManager } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const result = spawnSync("npx", ["-y", packageManager, ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: new URL("..", import.meta.url),
});
process.exit(result.status ?? 1);
