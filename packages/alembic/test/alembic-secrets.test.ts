import { chmodSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@polymigrate/testing";
import { copyExample, readAlembicVersion, REVISIONS, revisionFile, type AlembicTestProject } from "./alembic-project.js";

let database: TestDatabase;
let project: AlembicTestProject;

beforeEach(async () => {
  database = await createTestDatabase("pm_alembic");
  project = copyExample();
});
afterEach(async () => {
  project.remove();
  await database.drop();
});

// A real `alembic` in front of the real one: it records the command line it was given (and, from /proc, the one the
// kernel shows) and the names of its environment variables, then becomes Debian's Alembic.
const WRAPPER = `#!/usr/bin/python3
import json, os, sys
with open(os.environ["ARGV_LOG"], "a") as log:
    with open("/proc/self/cmdline", "rb") as cmdline:
        proc = cmdline.read().decode().split("\\0")
    log.write(json.dumps({"argv": sys.argv, "proc": proc, "env": sorted(os.environ)}) + "\\n")
os.execv("/usr/bin/python3", ["/usr/bin/python3", "-m", "alembic"] + sys.argv[1:])
`;

interface Invocation {
  argv: string[];
  proc: string[];
  env: string[];
}

it("never puts the URL or its password on Alembic's command line, nor in anything printed", { timeout: 180_000 }, async () => {
  const password = "s3cret-Pa55word";
  const url = database.urlWithPassword(password);
  const wrapper = project.write("bin/alembic", WRAPPER);
  chmodSync(wrapper, 0o755);
  const log = join(project.dir, "argv.jsonl");
  project.configure({ alembic: wrapper });
  project.write(
    "alembic/versions/bbbb00000002_broken.py",
    revisionFile("bbbb00000002", REVISIONS[2], "broken", "op.execute('SELECT * FROM missing_table')"),
  );
  const models = readFileSync(join(project.dir, "app/models.py"), "utf8");

  const outputs: string[] = [];
  const run = async (args: string[]) => {
    const result = await project.migrate(args, url, { ARGV_LOG: log });
    outputs.push(`${args.join(" ")}\n${result.stdout}\n${result.stderr}`);
    return result;
  };
  expect((await run(["status"])).exitCode).toBe(0);
  expect((await run(["plan", "--json"])).exitCode).toBe(0);
  const failed = await run(["up", "--json"]);
  expect(failed.exitCode).toBe(1);
  expect(failed.stdout).toContain('relation \\"missing_table\\" does not exist');
  expect((await run(["up"])).exitCode).toBe(1);
  expect(await readAlembicVersion(database)).toEqual([REVISIONS[2]]);
  rmSync(join(project.dir, "alembic/versions/bbbb00000002_broken.py"));
  expect((await run(["history", "--json"])).exitCode).toBe(0);
  project.write("app/models.py", models.replace("    bio = Column(Text, nullable=True)\n", "    bio = Column(Text, nullable=True)\n    avatar_url = Column(Text)\n"));
  const created = await run(["create", "add avatar", "--json"]);
  expect(created.exitCode, created.stdout + created.stderr).toBe(0);
  expect((await run(["up"])).exitCode).toBe(0);
  expect((await run(["down", "--to", "base"])).exitCode).toBe(0);
  expect(await readAlembicVersion(database)).toEqual([]);

  expect(existsSync(log)).toBe(true);
  const invocations = readFileSync(log, "utf8").trim().split("\n").map((line) => JSON.parse(line) as Invocation);
  const commands = invocations.map((invocation) => invocation.argv.slice(5).join(" "));
  // Besides the offline renderings (plan, and the lint before each up): one call per revision.
  expect(commands.filter((command) => !command.endsWith("--sql"))).toEqual([
    ...REVISIONS.map((id) => `upgrade ${id}`),
    "upgrade bbbb00000002",
    "upgrade bbbb00000002",
    "revision --autogenerate -m add avatar",
    expect.stringMatching(/^upgrade [0-9a-f]{12}$/),
    `downgrade ${REVISIONS[2]}`,
    `downgrade ${REVISIONS[1]}`,
    `downgrade ${REVISIONS[0]}`,
    "downgrade base",
  ]);
  expect(commands).toContain("upgrade bbbb00000002 --sql");
  for (const invocation of invocations) {
    for (const argument of [...invocation.argv, ...invocation.proc]) {
      expect(argument).not.toContain(password);
      expect(argument).not.toContain(database.name);
      expect(argument).not.toMatch(/postgres(ql)?:\/\//);
    }
    expect(invocation.env).toContain("DIRECT_URL");
  }
  for (const output of outputs) {
    expect(output).not.toContain(password);
    expect(output).not.toContain(encodeURIComponent(password));
  }
});
