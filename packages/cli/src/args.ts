import { parseArgs, type ParseArgsConfig } from "node:util";
import { MigrateError, findClosestName, parseDuration, type IntegrityProblemKind } from "@polymigrate/core";

type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string] & { description: string; value?: string };

/** Options every command takes. */
const COMMON_OPTIONS: Record<string, OptionSpec> = {
  project: { type: "string", value: "<name>", description: "Only this project of the configuration" },
  config: { type: "string", value: "<file>", description: "The configuration file (default: migrate.config.{ts,mts,js,mjs,json} here)" },
  cwd: { type: "string", value: "<dir>", description: "Run as if started in <dir>" },
  json: { type: "boolean", description: "Print the run's report as JSON on stdout" },
  report: {
    type: "string",
    value: "<format>",
    description: "Also write the run as markdown (to $GITHUB_STEP_SUMMARY when set), junit or sarif (lint findings)",
  },
  "report-file": { type: "string", value: "<path>", description: "Write the --report there instead of stdout" },
  "allow-pooled-url": { type: "boolean", description: "Run over a URL that looks pooled (loud; not recommended)" },
  help: { type: "boolean", short: "h", description: "Show this help" },
};

const SAFETY_OPTIONS: Record<string, OptionSpec> = {
  "lock-timeout": { type: "string", value: "<duration>", description: "lock_timeout of each migration (default 5s; 0 is off)" },
  "statement-timeout": { type: "string", value: "<duration>", description: "statement_timeout of each migration (default off)" },
  retries: { type: "string", value: "<n>", description: "Retries of a migration that hit lock_timeout (default 3)" },
};

const LOCK_WAIT: OptionSpec = {
  type: "string",
  value: "<duration>",
  description: "How long to wait for another run's migration lock, e.g. 30s (default 60s)",
};

/** A subcommand: its options, and the help a new user reads. */
export interface CommandSpec {
  name: CommandName;
  usage: string;
  summary: string;
  description: string;
  options: Record<string, OptionSpec>;
  examples: string[];
}

/** The subcommands. */
export type CommandName = "status" | "up" | "down" | "create" | "resolve" | "verify" | "plan" | "history" | "doctor" | "push" | "lint" | "rehearse" | "baseline" | "reset" | "draft-down";

/** Every subcommand, in the order help lists them. */
export const COMMANDS: CommandSpec[] = [
  {
    name: "status",
    usage: "migrate status [options]",
    summary: "Show applied, pending and problem migrations of every project",
    description:
      "Reads each project's migrations on disk and its history table, and shows what is applied, pending, changed since it was applied, missing on disk or failed. Changes nothing.",
    options: {},
    examples: ["migrate status", "migrate status --project web --json"],
  },
  {
    name: "up",
    usage: "migrate up [options]          (alias: migrate deploy)",
    summary: "Apply the pending migrations",
    description:
      "Takes the database's migration lock, checks the history's integrity, and applies every pending migration in order, each in its own transaction unless one of its statements cannot run in one. Stops at the first failure; earlier migrations stay applied.",
    options: {
      to: { type: "string", value: "<id>", description: "Apply pending migrations up to and including <id> only" },
      "lock-wait": LOCK_WAIT,
      allow: {
        type: "string",
        value: "<kinds>",
        description: "Apply despite these integrity problems: changed, missing, out-of-order (comma-separated)",
      },
      ...SAFETY_OPTIONS,
      "allow-unsafe": { type: "boolean", description: "Apply even when the safety lint finds errors in the pending migrations (loud)" },
      snapshot: { type: "boolean", description: "First save what the run may change with pg_dump (undo with down --to-snapshot <id>)" },
      "snapshot-data": { type: "boolean", description: "With --snapshot: also save the data of the tables the run touches" },
      "branch-first": { type: "boolean", description: "First make a Neon branch of the target through Neon's API (needs neon in the configuration and NEON_API_KEY)" },
    },
    examples: ["migrate up", "migrate up --project api --lock-wait 30s", "migrate up --snapshot --snapshot-data", "migrate up --branch-first"],
  },
  {
    name: "down",
    usage: "migrate down [options]",
    summary: "Undo the newest migration (or --steps N, or --to <id>)",
    description:
      "Lists what it will undo and how, then runs the down migrations newest first and updates the stack's history as the stack itself would. Refuses, undoing nothing, when a migration in range has no down or its down is marked irreversible, and names the snapshot (migrate up --snapshot) that covers them: --to-snapshot <id> restores it.",
    options: {
      steps: { type: "string", value: "<n>", description: "Undo the newest <n> migrations (default 1)" },
      to: { type: "string", value: "<id>", description: 'Undo every migration applied after <id>; "base" undoes all' },
      confirm: { type: "string", value: "<database>", description: "Required on a production project: the database's name" },
      "to-snapshot": { type: "string", value: "<id>", description: "Restore the snapshot <id> taken by up --snapshot (the way through irreversible migrations)" },
      "lock-wait": LOCK_WAIT,
      ...SAFETY_OPTIONS,
    },
    examples: ["migrate down", "migrate down --steps 2", "migrate down --to 0001_create_users", "migrate down --to base", "migrate down --to-snapshot 20260102T030405006Z-app"],
  },
  {
    name: "create",
    usage: "migrate create <name> [options]",
    summary: "Create a new migration (with the stack's own generator)",
    description:
      "Writes a new migration in the project's own layout: for plain SQL, the next numbered <name>.sql and its .down.sql; for Prisma, Drizzle and Alembic, what the stack's generator produces.",
    options: {
      empty: { type: "boolean", description: "An empty migration, without asking the stack's generator" },
    },
    examples: ["migrate create add_users", "migrate create add_posts --project web"],
  },
  {
    name: "draft-down",
    usage: "migrate draft-down <id> [options]",
    summary: "Draft the down of an existing SQL migration from its up",
    description:
      "Reads the up of a migration written by hand (plain SQL, Prisma or Drizzle) with PostgreSQL's parser and writes the statements that undo it where the stack keeps downs (<id>.down.sql, down.sql in a Prisma migration's folder, <tag>.down.sql beside a Drizzle migration). What SQL cannot undo without losing data becomes a commented IRREVERSIBLE step, and \"migrate down\" then refuses the migration. Review the draft before relying on it.",
    options: {
      force: { type: "boolean", description: "Replace an existing down file" },
    },
    examples: ["migrate draft-down 0003_add_reviews", "migrate draft-down 20250101120000_add_posts --project web"],
  },
  {
    name: "resolve",
    usage: "migrate resolve --applied <id> | --rolled-back <id> [options]",
    summary: "Record a migration as applied or rolled back, without running it",
    description:
      "For a migration that failed or was finished or undone by hand: --applied records it as applied, --rolled-back clears its failed or applied record so that \"up\" runs it again. Like \"prisma migrate resolve\", for every stack.",
    options: {
      applied: { type: "string", value: "<id>", description: "Record <id> as applied" },
      "rolled-back": { type: "string", value: "<id>", description: "Record <id> as rolled back" },
      "lock-wait": LOCK_WAIT,
    },
    examples: ["migrate resolve --rolled-back 20240101120000_add_users", "migrate resolve --applied 0003_backfill"],
  },
  {
    name: "verify",
    usage: "migrate verify [options]",
    summary: "Check that every down undoes its up, on a throwaway database",
    description:
      "Creates a throwaway database on the target's server, applies every migration, then from the newest down: runs its down and compares the catalog with the schema before it, runs its up again and compares with the schema after it. Reports each mismatch (tables, columns, constraints, indexes, enums, sequences, views) and exits 1 on any. The target database is not touched.",
    options: {},
    examples: ["migrate verify", "migrate verify --project web --json"],
  },
  {
    name: "lint",
    usage: "migrate lint [options]",
    summary: "Check the pending migrations for locks and rewrites that hurt a live database",
    description:
      "Runs Squawk and Polymigrate's own rules on the SQL of each project's pending migrations (Alembic's through its offline SQL) and prints each finding at its file and line. Knows the run: a lock on a table created earlier in the same run, or on an empty table, is harmless. Without a database URL (or with --all), lints every migration on disk from the files alone, each as if the ones before it were applied. Exits 1 when it finds an error.",
    options: {
      all: { type: "boolean", description: "Lint every migration on disk, not just the pending ones" },
    },
    examples: ["migrate lint", "migrate lint --all --json", "migrate lint --project api"],
  },
  {
    name: "plan",
    usage: "migrate plan [options]",
    summary: 'Print the SQL that "up" would run',
    description: "Shows each pending migration and its SQL, and any integrity problem that would stop \"up\". Changes nothing.",
    options: {},
    examples: ["migrate plan", "migrate plan --json"],
  },
  {
    name: "history",
    usage: "migrate history [options]",
    summary: "List the migrations recorded in the history table (or every run in the ledger)",
    description:
      "Reads the stack's own history table: what was applied, when, and how long it took. With --ledger, reads Polymigrate's ledger (polymigrate.ledger) instead: every up, down, resolve, snapshot restore and baseline of every project on the database, with who ran it (user, host, CI job), the migrations with their checksums and durations, and the outcome.",
    options: {
      ledger: { type: "boolean", description: "Every run recorded in the database's ledger, across all its projects and stacks" },
    },
    examples: ["migrate history", "migrate history --ledger", "migrate history --ledger --json"],
  },
  {
    name: "baseline",
    usage: "migrate baseline [options]",
    summary: "Accept the current schema as the expected one (clears the drift warning)",
    description:
      'Records the database\'s current schema in the ledger (polymigrate.ledger) as the expected one, so that "migrate status" stops reporting the changes made outside migrate before it. Runs no migration. Every "up", "down", "resolve" and snapshot restore records the schema after it too.',
    options: { "lock-wait": LOCK_WAIT },
    examples: ["migrate baseline", "migrate baseline --project api"],
  },
  {
    name: "rehearse",
    usage: "migrate rehearse [options]",
    summary: "Apply the pending migrations to a throwaway copy of the database, and report their time and locks",
    description:
      "Copies the target database on its own server (CREATE DATABASE ... TEMPLATE when no other session is connected to it, else pg_dump | pg_restore), applies the pending migrations to the copy one by one, and reports for each its duration, the table locks its statements take (from each statement's kind and the relations it names, as PostgreSQL documents them), the tables it rewrote and the rows it changed. Then drops the copy. The target is not changed. With a neon section in the configuration, the copy is a Neon branch (see docs/neon.md).",
    options: {
      "no-data": { type: "boolean", description: "Copy the schema only, not the data (for large databases; forces pg_dump)" },
      to: { type: "string", value: "<id>", description: "Rehearse pending migrations up to and including <id> only" },
      ...SAFETY_OPTIONS,
    },
    examples: ["migrate rehearse", "migrate rehearse --no-data --json"],
  },
  {
    name: "doctor",
    usage: "migrate doctor [options]",
    summary: "Diagnose a stuck or failed migration, with the exact fix for each problem",
    description:
      "Checks each project: its configuration, the URL and the direct-URL policy, the connection, a pooler in the path, the migrations on disk, the history table and its integrity, who holds the migration lock, the sessions waiting for locks and the sessions blocking them (pg_blocking_pids, with their queries and ages), INVALID indexes, migrations recorded as failed and pending migrations whose objects already partly exist. For a failed or half-applied migration it reads the live schema to tell which of its statements landed and proposes \"migrate resolve --applied <id>\" or \"--rolled-back <id>\". --terminate <pid> ends one backend that blocks a migration or holds the migration lock, after confirmation (a prompt on a terminal, or --yes).",
    options: {
      terminate: { type: "string", value: "<pid>", description: "End this one backend (pg_terminate_backend), only if it blocks a migration or holds the migration lock" },
      yes: { type: "boolean", description: "With --terminate: do not ask for confirmation" },
    },
    examples: ["migrate doctor", "migrate doctor --json", "migrate doctor --terminate 12345"],
  },
  {
    name: "push",
    usage: "migrate push [options]",
    summary: "Development only: make the database match the schema, without a migration",
    description:
      "Runs the stack's own push (drizzle-kit push) over the direct URL. Records no migration. Refused (exit 2) for a project marked production: true in the configuration, or when MIGRATE_ENV=production, unless --confirm repeats the database's name: use \"migrate create\" and \"migrate up\" there.",
    options: {
      force: { type: "boolean", description: "Apply statements that may lose data without asking (drizzle-kit push --force)" },
      confirm: { type: "string", value: "<database>", description: "Required on a production project: the database's name" },
    },
    examples: ["migrate push", "migrate push --project web"],
  },
  {
    name: "reset",
    usage: "migrate reset [options]",
    summary: "Development only: drop the database's schemas and apply every migration again",
    description:
      "Drops every schema of the project's database but Polymigrate's own (its ledger stays) with everything in them, recreates public, and applies every migration from the start: the whole database, whichever projects share it. Asks first on a terminal (y/N, naming each database); off a terminal (scripts, CI) it is refused, exit 2 with nothing dropped, unless --force is given, as prisma migrate reset does. Refused on a production project unless --confirm repeats the database's name.",
    options: {
      force: { type: "boolean", description: "Reset without asking (required off a terminal)" },
      confirm: { type: "string", value: "<database>", description: "Required on a production project: the database's name" },
      "lock-wait": LOCK_WAIT,
      ...SAFETY_OPTIONS,
    },
    examples: ["migrate reset", "migrate reset --force --project web"],
  },
];

const ALIASES: Record<string, CommandName> = { deploy: "up" };

/** A parsed command line. */
export interface ParsedArgs {
  command: CommandName | "help" | "version";
  /** The command whose help was asked for. */
  helpFor?: CommandName;
  positionals: string[];
  project?: string;
  config?: string;
  cwd?: string;
  json: boolean;
  /** `--report`: a report for CI or people, and `--report-file`: where it goes. */
  report?: "markdown" | "junit" | "sarif";
  reportFile?: string;
  allowPooledUrl: boolean;
  lockWaitMs?: number;
  allow: IntegrityProblemKind[];
  steps?: number;
  to?: string;
  empty: boolean;
  /** `up`: apply despite lint errors. */
  allowUnsafe?: boolean;
  /** `lint`: every migration on disk. */
  all?: boolean;
  /** `push`: apply statements that may lose data without asking; `reset`: reset without asking; `draft-down`: replace the down. */
  force?: boolean;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  retries?: number;
  /** The database name, to allow a destructive command on production. */
  confirm?: string;
  /** `up --snapshot`: save what the run may change first; `snapshotData` also saves the touched tables' data. */
  snapshot?: boolean;
  snapshotData?: boolean;
  /** `up --branch-first`: make a Neon branch of the target first. */
  branchFirst?: boolean;
  /** `down --to-snapshot <id>`: the snapshot to restore. */
  toSnapshot?: string;
  /** `resolve`: what to record. */
  resolve?: { id: string; as: "applied" | "rolled-back" };
  /** `rehearse --no-data`: copy the schema only. */
  noData?: boolean;
  /** `doctor --terminate <pid>`: the one backend to end. */
  terminate?: number;
  /** `doctor --yes`: confirm without asking. */
  yes?: boolean;
  /** `history --ledger`: the ledger's runs instead of the stack's history table. */
  ledger?: boolean;
}

function usageError(message: string): MigrateError {
  return new MigrateError("USAGE", message);
}

/** Reads a flag's duration (`30s`, `500ms`, `2min`; a bare number is seconds) into milliseconds, as the configuration does. */
export function parseDurationFlag(value: string, option: string): number {
  const duration = parseDuration(value);
  if (!duration.ok) throw usageError(`--${option} ${duration.problem}.`);
  return duration.milliseconds;
}

/** Parses argv into a command and its options; bad usage is a `USAGE` error with a suggestion. */
export function parseCommandLine(argv: string[]): ParsedArgs {
  const first = argv[0];
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    const topic = first === "help" ? argv[1] : undefined;
    if (topic) {
      const spec = findCommand(topic);
      return { ...emptyArgs(), command: "help", helpFor: spec.name };
    }
    return { ...emptyArgs(), command: "help" };
  }
  if (first === "-v" || first === "--version") return { ...emptyArgs(), command: "version" };
  if (first.startsWith("-")) {
    throw usageError(`"${first}" comes before a command. Put the command first, e.g. "migrate status ${first}"; see "migrate --help".`);
  }
  const spec = findCommand(first);
  const options = { ...COMMON_OPTIONS, ...spec.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv.slice(1),
      options: Object.fromEntries(
        Object.entries(options).map(([name, option]) => [name, { type: option.type, ...(option.short ? { short: option.short } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
    if (unknown) {
      const suggestion = findClosestName(unknown.replace(/^-+/, ""), Object.keys(options));
      const hint = suggestion ? ` Did you mean "--${suggestion}"?` : "";
      throw usageError(`"migrate ${spec.name}" has no option "${unknown}".${hint} See "migrate ${spec.name} --help".`);
    }
    throw usageError(`${message.replace(/\.$/, "")}. See "migrate ${spec.name} --help".`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { ...emptyArgs(), command: "help", helpFor: spec.name };
  const result: ParsedArgs = {
    ...emptyArgs(),
    command: spec.name,
    positionals: parsed.positionals,
    json: values.json === true,
    allowPooledUrl: values["allow-pooled-url"] === true,
    empty: values.empty === true,
  };
  if (values["allow-unsafe"] === true) result.allowUnsafe = true;
  if (values.all === true) result.all = true;
  if (values.force === true) result.force = true;
  if (values["no-data"] === true) result.noData = true;
  if (values.yes === true) result.yes = true;
  if (typeof values.terminate === "string") {
    if (!/^[1-9]\d*$/.test(values.terminate)) throw usageError(`--terminate takes one backend's process id (a whole number), not "${values.terminate}".`);
    result.terminate = Number(values.terminate);
  }
  if (values.snapshot === true) result.snapshot = true;
  if (values["branch-first"] === true) result.branchFirst = true;
  if (values.ledger === true) result.ledger = true;
  if (values["snapshot-data"] === true) {
    if (values.snapshot !== true) throw usageError("--snapshot-data goes with --snapshot: use \"migrate up --snapshot --snapshot-data\".");
    result.snapshotData = true;
  }
  if (typeof values["to-snapshot"] === "string") {
    if (values.steps !== undefined || values.to !== undefined) throw usageError("Use --to-snapshot alone, without --steps or --to: the snapshot says where to go back to.");
    result.toSnapshot = values["to-snapshot"];
  }
  for (const key of ["project", "config", "cwd", "to", "confirm"] as const) {
    const value = values[key];
    if (typeof value === "string") result[key] = value;
  }
  if (typeof values.report === "string") {
    if (!["markdown", "junit", "sarif"].includes(values.report)) {
      throw usageError(`--report takes markdown, junit or sarif, not "${values.report}".`);
    }
    result.report = values.report as ParsedArgs["report"] & string;
  }
  if (typeof values["report-file"] === "string") {
    if (result.report === undefined) throw usageError("--report-file goes with --report, e.g. \"--report junit --report-file migrate.xml\".");
    result.reportFile = values["report-file"];
  }
  if (spec.name === "resolve") {
    const applied = values.applied;
    const rolledBack = values["rolled-back"];
    if ((typeof applied === "string") === (typeof rolledBack === "string")) {
      throw usageError('"migrate resolve" needs exactly one of --applied <id> or --rolled-back <id>.');
    }
    result.resolve = typeof applied === "string" ? { id: applied, as: "applied" } : { id: rolledBack as string, as: "rolled-back" };
  }
  if (typeof values["lock-wait"] === "string") result.lockWaitMs = parseDurationFlag(values["lock-wait"], "lock-wait");
  if (typeof values["lock-timeout"] === "string") result.lockTimeoutMs = parseDurationFlag(values["lock-timeout"], "lock-timeout");
  if (typeof values["statement-timeout"] === "string") {
    result.statementTimeoutMs = parseDurationFlag(values["statement-timeout"], "statement-timeout");
  }
  if (typeof values.retries === "string") {
    if (!/^\d+$/.test(values.retries)) throw usageError(`--retries takes a whole number (0 for none), not "${values.retries}".`);
    result.retries = Number(values.retries);
  }
  if (typeof values.steps === "string") {
    if (!/^[1-9]\d*$/.test(values.steps)) throw usageError(`--steps takes a whole number of 1 or more, not "${values.steps}".`);
    result.steps = Number(values.steps);
  }
  if (result.steps !== undefined && result.to !== undefined) throw usageError("Use --steps or --to, not both.");
  if (typeof values.allow === "string") {
    const kinds = values.allow.split(",").map((kind) => kind.trim()).filter(Boolean);
    for (const kind of kinds) {
      if (!["changed", "missing", "out-of-order"].includes(kind)) {
        throw usageError(`--allow takes changed, missing or out-of-order (comma-separated), not "${kind}". A failed migration is never allowed: resolve it first.`);
      }
    }
    result.allow = kinds as IntegrityProblemKind[];
  }
  const maxPositionals = spec.name === "create" || spec.name === "draft-down" ? 1 : 0;
  if (spec.name === "create" && result.positionals.length === 0) {
    throw usageError('"migrate create" needs a name for the migration, e.g. "migrate create add_users".');
  }
  if (spec.name === "draft-down" && result.positionals.length === 0) {
    throw usageError('"migrate draft-down" needs the id of a migration, e.g. "migrate draft-down 0003_add_reviews".');
  }
  if (result.positionals.length > maxPositionals) {
    const extra = result.positionals.slice(maxPositionals).join(" ");
    throw usageError(`"migrate ${spec.name}" does not take "${extra}". See "migrate ${spec.name} --help".`);
  }
  return result;
}

function emptyArgs(): ParsedArgs {
  return { command: "help", positionals: [], json: false, allowPooledUrl: false, allow: [], empty: false };
}

function findCommand(name: string): CommandSpec {
  const resolved = ALIASES[name] ?? name;
  const spec = COMMANDS.find((command) => command.name === resolved);
  if (spec) return spec;
  const suggestion = findClosestName(name, [...COMMANDS.map((command) => command.name), ...Object.keys(ALIASES)]);
  const hint = suggestion ? ` Did you mean "migrate ${suggestion}"?` : "";
  throw usageError(`"${name}" is not a migrate command.${hint} Run "migrate --help" for the list.`);
}

function formatOptions(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : ""}--${name}${option.value ? ` ${option.value}` : ""}`;
    return [flag, option.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

/** The top-level help. */
export function renderMainHelp(version: string): string {
  // A command's positional argument, as its usage line names it ("create <name>", "draft-down <id>").
  const label = (command: CommandSpec) => /^migrate (\S+(?: <[a-z]+>)?)/.exec(command.usage)?.[1] ?? command.name;
  const width = Math.max(...COMMANDS.map((command) => label(command).length));
  return [
    `migrate ${version}: apply, inspect and roll back PostgreSQL migrations of Prisma, Drizzle, Alembic and plain-SQL`,
    "projects, always over the direct (never the pooled) connection.",
    "",
    "Usage: migrate <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((command) => `  ${label(command).padEnd(width)}  ${command.summary}`),
    "",
    "Options for every command:",
    ...formatOptions(COMMON_OPTIONS),
    "  -v, --version  Print the version",
    "",
    "Projects come from migrate.config.{ts,mts,js,mjs,json} in the folder, or are detected from it: prisma/schema.prisma,",
    "drizzle.config.*, alembic.ini, or a migrations/ folder of numbered .sql files.",
    "",
    "Environment:",
    "  DIRECT_URL    The direct URL that migrations use (per project: urlEnv in the configuration)",
    "  DATABASE_URL  The application's pooled URL; used only when DIRECT_URL is unset and it does not look pooled",
    "",
    "Exit codes: 0 success, 1 a migration or connection failed, 2 refused by a policy or bad usage.",
    'Run "migrate <command> --help" for a command\'s options and examples.',
  ].join("\n");
}

/** The help of one command. */
export function renderCommandHelp(name: CommandName): string {
  const spec = COMMANDS.find((command) => command.name === name)!;
  const lines = [`Usage: ${spec.usage}`, "", `${spec.summary}.`, "", wrap(spec.description, 100), ""];
  if (Object.keys(spec.options).length > 0) lines.push("Options:", ...formatOptions(spec.options), "");
  lines.push("Options for every command:", ...formatOptions(COMMON_OPTIONS), "", "Examples:", ...spec.examples.map((example) => `  ${example}`));
  return lines.join("\n");
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join("\n");
}
