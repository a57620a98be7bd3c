import { describe, expect, it } from "vitest";
import { headsAfterApplying, headsAfterRollingBack } from "./alembic-history.js";
import type { AlembicRevision, RevisionGraph } from "./alembic-layout.js";

function graphOf(links: Record<string, string[]>): RevisionGraph {
  const revisions: AlembicRevision[] = Object.entries(links).map(([revision, downRevisions]) => ({
    revision,
    downRevisions,
    dependsOn: [],
    branchLabels: [],
    message: revision,
    file: `${revision}.py`,
    text: "",
  }));
  const parents = new Set(revisions.flatMap((revision) => revision.downRevisions));
  return {
    revisions,
    byId: new Map(revisions.map((revision) => [revision.revision, revision])),
    heads: revisions.map((revision) => revision.revision).filter((id) => !parents.has(id)),
  };
}

// base -> a1 -> a2, base -> b1
const graph = graphOf({ base: [], a1: ["base"], a2: ["a1"], b1: ["base"] });

describe("the heads alembic stamp would leave", () => {
  it("replaces the heads a revision descends from and keeps other branches", () => {
    expect(headsAfterApplying(graph, [], "a1")).toEqual(["a1"]);
    expect(headsAfterApplying(graph, ["a1"], "a2")).toEqual(["a2"]);
    expect(headsAfterApplying(graph, ["a2"], "b1")).toEqual(["a2", "b1"]);
  });

  it("rolls back to the down revision unless another head still covers it", () => {
    expect(headsAfterRollingBack(graph, ["a2"], "a2")).toEqual(["a1"]);
    expect(headsAfterRollingBack(graph, ["a2", "b1"], "b1")).toEqual(["a2"]);
    expect(headsAfterRollingBack(graph, ["a2"], "a1")).toEqual(["base"]);
    expect(headsAfterRollingBack(graph, ["a1"], "base")).toEqual([]);
  });
});
