import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkCapacity, ClusterShape, validateShape } from "../../components/plan";
import { assertRefused } from "./helpers";

const shape = (nodes: number, cpus?: number, memoryMb?: number): ClusterShape => ({
  nodes,
  plugins: "bundled",
  ...(cpus === undefined ? {} : { cpus }),
  ...(memoryMb === undefined ? {} : { memoryMb }),
});

describe("checkCapacity", () => {
  const allowed: [string, ClusterShape, ClusterShape][] = [
    ["same", shape(3, 2, 2048), shape(3, 2, 2048)],
    ["bigger", shape(3, 2, 2048), shape(4, 4, 4096)],
    ["unlimited target", shape(3, 2, 2048), shape(3)],
    ["both unlimited", shape(1), shape(1)],
  ];
  for (const [name, deployed, target] of allowed) {
    test(`${name}: allowed without warnings`, () => {
      assert.deepEqual(checkCapacity(deployed, target, false), []);
    });
  }
  const smaller: [string, ClusterShape, ClusterShape, string][] = [
    ["fewer nodes", shape(3), shape(2), "nodes 2 < 3"],
    ["fewer cpus", shape(2, 2), shape(2, 1), "cpus 1 < 2 per node"],
    ["less memory", shape(2, 2, 2048), shape(2, 2, 1024), "memoryMb 1024 MiB < 2048 MiB per node"],
    [
      "limited where unlimited before",
      shape(2),
      shape(2, 1, 512),
      "cpus 1 < unlimited per node, memoryMb 512 MiB < unlimited per node",
    ],
  ];
  for (const [name, deployed, target, detail] of smaller) {
    test(`${name}: refused, or a warning with allowSmallerCluster`, () => {
      assertRefused(
        () => checkCapacity(deployed, target, false),
        "capacity",
        detail,
        "allowSmallerCluster: true",
        "carries all the traffic",
      );
      const warnings = checkCapacity(deployed, target, true);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] as string, /accepted because allowSmallerCluster is set/);
      assert.ok((warnings[0] as string).includes(detail));
    });
  }
  test("every shortfall is listed at once", () => {
    assertRefused(
      () => checkCapacity(shape(3, 2, 2048), shape(1, 1, 1024), false),
      "capacity",
      "nodes 1 < 3, cpus 1 < 2 per node, memoryMb 1024 MiB < 2048 MiB",
    );
  });
});

describe("validateShape", () => {
  const bad: [ClusterShape, string][] = [
    [shape(0), "target.nodes 0 is not a node count"],
    [shape(1.5), "target.nodes 1.5"],
    [shape(2, 0), "target.cpus 0 is not a CPU limit"],
    [shape(2, Number.NaN), "target.cpus NaN"],
    [shape(2, 1, 0), "target.memoryMb 0 is not a memory limit"],
    [shape(2, 1, 10.5), "target.memoryMb 10.5"],
  ];
  for (const [s, message] of bad) {
    test(message, () => {
      assertRefused(() => validateShape(s, "target"), "input", message);
    });
  }
  test("fractional cpus are fine", () => validateShape(shape(2, 1.5, 512), "target"));
});
