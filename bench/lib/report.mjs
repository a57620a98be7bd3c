// Medians, ratios and the issue's targets, as rows and as a Markdown table.
import { median, percentile } from "./measure.mjs";

const SCENARIOS = {
  1: "1. Apply all to an empty database",
  2: "2. Apply one new migration on top of N",
  3: "3. Status when up to date",
  4: "4. Lint the N-migration history",
};

const RAW_OF = { prisma: "prisma migrate deploy", drizzle: "drizzle-kit migrate", alembic: "alembic upgrade head" };
const RAW_STATUS_OF = { prisma: "prisma migrate status", drizzle: "drizzle-kit check", alembic: "alembic current" };

/** The issue's target for a row, as { text, met } (undefined when the row has none). */
function targetOf(row, group) {
  const targets = [];
  const byLabel = (label) => group.find((r) => r.label === label);
  if (row.scenario === 1 && row.migrate) {
    if (row.stack === "alembic") {
      const raw = byLabel(RAW_OF.alembic);
      const limit = raw.median * 1.1 + 0.1;
      targets.push({ text: `≤ 1.1x alembic + 0.1 s (${limit.toFixed(2)} s)`, met: row.median <= limit });
    } else {
      const factor = row.n >= 1000 ? 1.3 : 1.5;
      targets.push({ text: `≤ ${factor}x psql`, met: row.ratio <= factor });
    }
    if (row.n >= 1000) targets.push({ text: "peak RSS < 200 MB", met: row.rssMb < 200 });
  }
  if (row.scenario === 2 && row.migrate && row.stack !== "alembic") targets.push({ text: "≤ 0.25 s", met: row.median <= 0.25 });
  if (row.scenario === 3 && row.migrate && row.stack !== "alembic") {
    const limit = row.stack === "multi" ? 0.5 : 0.25;
    targets.push({ text: `≤ ${limit} s`, met: row.median <= limit });
  }
  if (row.scenario === 4 && row.migrate) targets.push({ text: "≤ 2.5x squawk", met: row.ratio <= 2.5 });
  return targets;
}

/** One row per contender: median and spread of the timed runs, peak RSS, ratio to the group's floor, targets. */
export function summarize(groups) {
  const rows = [];
  for (const { scenario, n, cases } of groups) {
    const group = cases.map((c) => {
      const seconds = c.samples.map((s) => s.seconds);
      return {
        scenario,
        n,
        label: c.label,
        stack: c.stack,
        migrate: Boolean(c.migrate),
        baseline: Boolean(c.baseline),
        median: median(seconds),
        min: seconds.reduce((a, b) => Math.min(a, b), Infinity),
        max: seconds.reduce((a, b) => Math.max(a, b), -Infinity),
        rssMb: c.samples.reduce((max, sample) => Math.max(max, sample.rssMb), 0),
        samples: seconds,
        timedOut: c.samples.some((sample) => sample.timedOut),
      };
    });
    const floor = group.find((r) => r.baseline);
    for (const row of group) {
      row.ratio = floor ? row.median / floor.median : NaN;
      row.floor = floor?.label;
      const rawLabel = row.migrate && row.stack ? (scenario === 3 ? RAW_STATUS_OF : RAW_OF)[row.stack] : undefined;
      const raw = rawLabel && scenario !== 4 ? group.find((r) => r.label === rawLabel) : undefined;
      if (raw) {
        row.rawLabel = raw.label;
        row.rawRatio = row.median / raw.median;
      }
    }
    addPairedRatios(group);
    for (const row of group) {
      row.targets = targetOf(row, group);
      // A stopped command has no full measurement: its targets (memory included) count as missed.
      if (row.timedOut) for (const target of row.targets) target.met = false;
    }
    rows.push(...group);
  }
  return rows;
}

/**
 * The median of per-round ratios to the floor: sample k of every contender ran in the same round k, so dividing
 * within a round cancels the machine's drift between rounds (the ratio of medians does not).
 */
export function addPairedRatios(group) {
  const floor = group.find((r) => r.baseline);
  for (const row of group) {
    if (!floor || row.baseline || row.timedOut || row.samples.length !== floor.samples.length) continue;
    row.pairedRatio = median(row.samples.map((value, k) => value / floor.samples[k]));
  }
}

const s = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 3 : 2) : "n/a");
const shortTool = (label) => label.split(" ")[0];

export function renderTable({ rows, lockImpact, options, host, startedAt, finishedAt, loadBefore, loadAfter }) {
  const out = [];
  out.push(`# Polymigrate benchmarks`);
  out.push("");
  out.push(
    `Run ${startedAt.toISOString()} to ${finishedAt.toISOString()} with \`node bench/run.mjs --sizes ${options.sizes.join(",")} --runs ${options.runs} --timeout ${options.timeout}${options.lockImpact ? " --lock-impact" : ""}\`: ` +
      `${options.warmup} warm-up + ${options.runs} timed runs per contender, contenders alternated within each round; whole-process wall time, median (min–max); "vs floor" is the ratio of medians (what the targets use), "paired" the median of the ratios within each round; ` +
      `peak RSS is GNU time's %M (the largest process of the command's tree).`,
  );
  out.push("");
  out.push(`Machine: ${host.cpus} x ${host.cpuModel}, ${host.memoryGb} GB RAM, PostgreSQL ${host.postgres} on 127.0.0.1, Node ${host.node}.`);
  out.push(`Load before: \`${loadBefore}\`; after: \`${loadAfter}\`.`);
  const bySection = new Map();
  for (const row of rows) {
    const key = row.scenario;
    if (!bySection.has(key)) bySection.set(key, []);
    bySection.get(key).push(row);
  }
  for (const [scenario, sectionRows] of bySection) {
    out.push("");
    out.push(`## ${SCENARIOS[scenario]}`);
    out.push("");
    out.push("| N | Contender | Median s (min–max) | Peak RSS MB | vs floor | paired vs floor | vs own tool | Target | Met |");
    out.push("|---:|---|---:|---:|---:|---:|---:|---|:---:|");
    for (const row of sectionRows) {
      const ratio = row.baseline ? "floor" : `${row.ratio.toFixed(2)}x ${shortTool(row.floor ?? "")}`;
      const raw = row.rawRatio ? `${row.rawRatio.toFixed(2)}x ${shortTool(row.rawLabel)}` : "";
      const target = row.targets.map((t) => t.text).join("; ");
      const met = row.targets.length ? row.targets.map((t) => (t.met ? "yes" : "**NO**")).join("; ") : "";
      const time = row.timedOut ? `> ${s(row.median)} (stopped at --timeout, 1 run)` : `${s(row.median)} (${s(row.min)}–${s(row.max)})`;
      out.push(`| ${row.n} | ${row.label} | ${time} | ${row.timedOut ? "n/a" : row.rssMb.toFixed(0)} | ${row.timedOut ? "> " : ""}${ratio} | ${row.pairedRatio ? `${row.pairedRatio.toFixed(2)}x` : ""} | ${raw ? `${row.timedOut ? "> " : ""}${raw}` : ""} | ${target} | ${met} |`);
    }
  }
  if (lockImpact) {
    out.push("");
    out.push(`## 5. Lock impact`);
    out.push("");
    out.push(
      `A table of ${lockImpact.rows.toLocaleString("en-US")} rows; a second session holds a conflicting lock (ACCESS SHARE, in an open transaction that read the table) for ${lockImpact.holdSeconds} s; ` +
        `1 s after it starts, the migration runs \`ALTER TABLE ... ADD COLUMN\`; a loop of single-row SELECTs on the table (one connection, back to back) measures latency from the migration's start until it and the lock holder are done.`,
    );
    out.push("");
    out.push("| Contender | Migration exit | Migration wall s | SELECTs | Longest stall s | p99 ms | Target | Met |");
    out.push("|---|---:|---:|---:|---:|---:|---|:---:|");
    for (const r of lockImpact.results) {
      const target = r.targetSeconds !== undefined ? `stall ≤ lock_timeout + 0.5 s (${r.targetSeconds.toFixed(1)} s)` : "shows the stall";
      const met = r.targetSeconds !== undefined ? (r.maxStall <= r.targetSeconds ? "yes" : "**NO**") : "";
      out.push(`| ${r.label} | ${r.exitCode}${r.applied ? "" : " (column not added)"} | ${s(r.seconds)} | ${r.count} | ${s(r.maxStall)} | ${(r.p99 * 1000).toFixed(1)} | ${target} | ${met} |`);
    }
  }
  const missed = rows.filter((r) => r.targets.some((t) => !t.met));
  out.push("");
  out.push(`Targets missed: ${missed.length === 0 ? "none" : missed.map((r) => `${r.label} at N=${r.n} (scenario ${r.scenario})`).join("; ")}.`);
  return out.join("\n");
}

export { percentile };
