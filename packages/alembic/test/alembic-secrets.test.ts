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

// A real `alembic` (and a real `python`) in front of the real one: it records the command line it was given (and, from
// /proc, the one the kernel shows) and the names of its environment variables, then becomes Debian's Alembic (or
// Python, which runs the helper).
const wrapper = (tool: string, prefix: string[]) => `#!/usr/bin/python3
import json, os, sys
with open(os.environ["ARGV_LOG"], "a") as log:
    with open("/proc/self/cmdline", "rb") as cmdline:
        proc = cmdline.read().decode().split("\\0")
    log.write(json.dumps({"tool": "${tool}", "argv": sys.argv, "proc": proc, "env": sorted(os.environ)}) + "\\n")
os.execv("/usr/bin/python3", ["/usr/bin/python3"] + ${JSON.stringify(prefix)} + sys.argv[1:])
`;

interface Invocation {
  tool: "alembic" | "python";
  argv: string[];
  proc: string[];
  env: string[];
}

it("never puts the URL or its password on Alembic's command line, nor in anything printed", { timeout: 180_000 }, async () => {
  const password = "s3cret-Pa55word";
  const url = database.urlWithPassword(password);
  const alembic = project.write("bin/alembic", wrapper("alembic", ["-m", "alembic"]));
  const python = project.write("bin/python", wrapper("python", []));
  chmodSync(alembic, 0o755);
  chmodSync(python, 0o755);
  const log = join(project.dir, "argv.jsonl");
  project.configure({ alembic, python });
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
  // Alembic's CLI only creates revisions; everything else is the helper, one process per command that runs or renders.
  const commands = invocations.filter((invocation) => invocation.tool === "alembic").map((invocation) => invocation.argv.slice(5).join(" "));
  expect(commands).toEqual(["revision --autogenerate -m add avatar"]);
  const helpers = invocations.filter((invocation) => invocation.tool === "python" && invocation.argv.includes("--serve"));
  // plan (render), up failing (lint render, run) twice, up (lint render, run), down (run).
  expect(helpers.length).toBe(8);
  for (const invocation of invocations) {
    for (const argument of [...invocation.argv, ...invocation.proc]) {
      expect(argument).not.toContain(password);
      expect(argument).not.toContain(database.name);
      expect(argument).not.toMatch(/postgres(ql)?:\/\//);
    }
    if (invocation.tool === "alembic" || invocation.argv.includes("--serve")) expect(invocation.env).toContain("DIRECT_URL");
  }
  for (const output of outputs) {
    expect(output).not.toContain(password);
    expect(output).not.toContain(encodeURIComponent(password));
  }
});
