import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { downgradeTargetOf, parseRevisionFile, readAlembicProject, readIniSection, readRevisionGraph, toMigrations } from "./alembic-layout.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function revision(id: string, down: string, extra = ""): string {
  return `"""message of ${id}\n\nRevision ID: ${id}\n"""\nfrom alembic import op\n\nrevision = '${id}'\ndown_revision = ${down}\nbranch_labels = None\ndepends_on = None\n${extra}\n\ndef upgrade() -> None:\n    pass\n`;
}

function project(files: Record<string, string>, ini = "[alembic]\nscript_location = %(here)s/migrations\n"): string {
  const dir = mkdtempSync(join(tmpdir(), "alembic-layout-"));
  dirs.push(dir);
  writeFileSync(join(dir, "alembic.ini"), ini);
  mkdirSync(join(dir, "migrations/versions"), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "migrations/versions", name), text);
  return dir;
}

describe("parseRevisionFile", () => {
  it("reads what Alembic's template writes: ids, None, tuples, annotations and the docstring's first line", () => {
    const merge = parseRevisionFile("m.py", revision("m1", "('a1', 'b1')").replace("branch_labels = None", "branch_labels = ('feature',)"));
    expect(merge).toMatchObject({ revision: "m1", downRevisions: ["a1", "b1"], branchLabels: ["feature"], message: "message of m1" });
    const annotated = parseRevisionFile(
      "n.py",
      `"""add things"""\nrevision: str = "n1"\ndown_revision: Union[str, None] = "m1"\nbranch_labels: Union[str, Sequence[str], None] = None\n`,
    );
    expect(annotated).toMatchObject({ revision: "n1", downRevisions: ["m1"], branchLabels: [], message: "add things" });
    const multiline = parseRevisionFile("o.py", `revision = 'o1'\ndown_revision = (\n    'a1',\n    'b1',\n)\n`);
    expect(multiline?.downRevisions).toEqual(["a1", "b1"]);
    expect(parseRevisionFile("helper.py", "def helper():\n    revision = 'x'\n")).toBeUndefined();
  });

  it("refuses a revision id it cannot read without running Python", () => {
    expect(() => parseRevisionFile("x.py", "revision = make_id()\ndown_revision = None\n")).toThrow(/quoted string/);
  });
});

describe("readRevisionGraph", () => {
  it("orders revisions after their ancestors, keeps branches together and finds the heads", () => {
    const dir = project({
      "1_base.py": revision("base1", "None"),
      "2_a.py": revision("a1", "'base1'"),
      "3_b.py": revision("b1", "'base1'"),
      "4_a2.py": revision("a2", "'a1'"),
    });
    const graph = readRevisionGraph(readAlembicProject(dir));
    expect(graph.heads).toEqual(["a2", "b1"]);
    expect(graph.revisions.map((item) => item.revision)).toEqual(["base1", "a1", "a2", "b1"]);
    const migrations = toMigrations(graph);
    expect(migrations.map((migration) => [migration.id, migration.order, migration.meta?.downgradeTarget])).toEqual([
      ["base1", 0, "base"],
      ["a1", 1, "a1@-1"],
      ["a2", 2, "a1"],
      ["b1", 3, "b1@-1"],
    ]);
    expect(downgradeTargetOf(graph, graph.byId.get("a2")!)).toBe("a1");
  });

  it("names a missing down revision, a duplicate id and a file without a revision", () => {
    expect(() => readRevisionGraph(readAlembicProject(project({ "1.py": revision("x1", "'gone'") })))).toThrow(/"gone", the down revision of "x1"/);
    expect(() =>
      readRevisionGraph(readAlembicProject(project({ "1.py": revision("x1", "None"), "2.py": revision("x1", "None") }))),
    ).toThrow(/Two files declare the revision "x1"/);
    expect(() => readRevisionGraph(readAlembicProject(project({ "notes.py": "# not a revision\n" })))).toThrow(/declares no "revision"/);
  });

  it("reads version_locations with Alembic's template comment on the separator", () => {
    const dir = project(
      {},
      "[alembic]\nscript_location = migrations\nversion_locations = %(here)s/one:%(here)s/two\nversion_path_separator = os  # Use os.pathsep.\n",
    );
    expect(readAlembicProject(dir).versionDirs).toEqual([join(dir, "one"), join(dir, "two")]);
  });
});

describe("readIniSection", () => {
  it("joins continuation lines and ignores other sections and comments", () => {
    const values = readIniSection("[other]\nscript_location = no\n[alembic]\n# comment\nscript_location = here\nversion_locations = a\n  b\n", "alembic");
    expect(values.get("script_location")).toBe("here");
    expect(values.get("version_locations")).toBe("a\nb");
  });
});

describe("files outside the project", () => {
  it("refuses a script_location outside the project and a revision file linked out of it, unless links are allowed", () => {
    const outside = mkdtempSync(join(tmpdir(), "alembic-outside-"));
    dirs.push(outside);
    expect(() => readAlembicProject(project({}, "[alembic]\nscript_location = %(here)s/../elsewhere\n"))).toThrow(
      /"script_location" of ".*alembic\.ini" names ".*elsewhere", which is outside the project folder/,
    );
    writeFileSync(join(outside, "1_base.py"), revision("base1", "None"));
    const dir = project({});
    symlinkSync(join(outside, "1_base.py"), join(dir, "migrations/versions/1_base.py"));
    expect(() => readRevisionGraph(readAlembicProject(dir))).toThrow(/The revision file "1_base.py" leads through a symbolic link/);
    const [base] = toMigrations(readRevisionGraph(readAlembicProject(dir, { allowSymlinksOutside: true })));
    expect(base?.id).toBe("base1");
  });

  it("takes the checksum over the revision file's bytes", () => {
    const dir = project({ "1_base.py": `# \u00e9\r\n${revision("base1", "None")}` });
    const [base] = toMigrations(readRevisionGraph(readAlembicProject(dir)));
    expect(base?.checksum).toBe(createHash("sha256").update(readFileSync(join(dir, "migrations/versions/1_base.py"))).digest("hex"));
  });
});
