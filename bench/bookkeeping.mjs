#!/usr/bin/env node
// What the crash-safety bookkeeping costs per migration (issue 12): `migrate up` of the same N-migration history by
// this build and by a baseline build of an earlier commit, alternated within each round, medians compared.
//
//   node bench/bookkeeping.mjs --baseline /path/to/other/checkout [--sizes 200,1000] [--runs 5] [--concurrent-share 0.1]
//
// The baseline is another checkout of this repository, built (`npm run build`); its packages/cli/dist/bin.js runs.
// Both runs use the same server, a fresh database each, prepared before the clock starts. The history is the bench's
// usual one (a table, an index, an insert per migration); `--concurrent-share` makes that share of the migrations run
// outside a transaction (a CREATE INDEX CONCURRENTLY), where the bookkeeping is heavier (a started record, a count per
// statement, its end in the history's transaction).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { closeAdmin, createDatabase, dropBenchDatabases, urlOf } from "./lib/db.mjs";
import { cleanupScratch, measure, median } from "./lib/measure.mjs";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, "..");
const WORK = join(BENCH, "work", "bookkeeping");

function parseArgs(argv) {
  const options = { sizes: [200, 1000], runs: 5, baseline: undefined, concurrentShare: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    const next = () => argv[(i += 1)];
    if (argv[i] === "--sizes") options.sizes = next().split(",").map(Number);
    else if (argv[i] === "--runs") options.runs = Number(next());
    else if (argv[i] === "--baseline") options.baseline = next();
    else if (argv[i] === "--concurrent-share") options.concurrentShare = Number(next());
    else throw new Error(`Unknown option "${argv[i]}". Usage: node bench/bookkeeping.mjs --baseline <checkout> [--sizes 200,1000] [--runs 5] [--concurrent-share 0.1]`);
  }
  if (!options.baseline) throw new Error("--baseline <another built checkout of this repository> is required.");
  return options;
}

function writeHistory(dir, size, concurrentShare) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "migrations"), { recursive: true });
  const every = concurrentShare > 0 ? Math.round(1 / concurrentShare) : 0;
  for (let index = 0; index < size; index += 1) {
    const id = String(index + 1).padStart(5, "0");
    const concurrent = every > 0 && index % every === every - 1;
    const sql = concurrent
      ? `CREATE INDEX CONCURRENTLY t${index - 1}_v_idx ON t${index - 1} (v);\n`
      : `CREATE TABLE t${index} (id int PRIMARY KEY, v text);\nCREATE INDEX t${index}_id_v ON t${index} (id, v);\nINSERT INTO t${index} VALUES (1, 'x');\n`;
    writeFileSync(join(dir, "migrations", `${id}_m${index}.sql`), sql);
  }
}

let runs = 0;
async function timeUp(bin, dir) {
  const database = `bench_book_${(runs += 1)}`;
  await createDatabase(database);
  const result = await measure({ command: process.execPath, args: [bin, "up", "--allow-unsafe"], cwd: dir, env: { DIRECT_URL: urlOf(database) }, timeoutSeconds: 300 });
  if (result.exitCode !== 0) throw new Error(`${bin} up failed (exit ${result.exitCode}):\n${result.stderr.slice(-2000)}`);
  return result.seconds;
}

const options = parseArgs(process.argv.slice(2));
const contenders = [
  { name: "this build", bin: join(ROOT, "packages", "cli", "dist", "bin.js") },
  { name: "baseline", bin: join(options.baseline, "packages", "cli", "dist", "bin.js") },
];
console.log(`| N | outside a transaction | this build (s) | baseline (s) | difference per migration (ms) |`);
console.log(`|---|---|---|---|---|`);
try {
  for (const size of options.sizes) {
    const dir = join(WORK, String(size));
    writeHistory(dir, size, options.concurrentShare);
    const times = new Map(contenders.map((contender) => [contender.name, []]));
    for (const contender of contenders) await timeUp(contender.bin, dir); // warm-up
    for (let round = 0; round < options.runs; round += 1) {
      // Alternate who goes first, so that a drift of the machine's load falls on both.
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const contender of order) times.get(contender.name).push(await timeUp(contender.bin, dir));
      await dropBenchDatabases("bench_book_");
    }
    const ours = median(times.get("this build"));
    const theirs = median(times.get("baseline"));
    const perMigration = ((ours - theirs) * 1000) / size;
    console.log(`| ${size} | ${Math.round(options.concurrentShare * 100)}% | ${ours.toFixed(3)} | ${theirs.toFixed(3)} | ${perMigration.toFixed(2)} |`);
  }
} finally {
  await dropBenchDatabases("bench_book_");
  await closeAdmin();
  cleanupScratch();
}
