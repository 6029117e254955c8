/**
 * TEST ONLY: a deterministic fault at the start of one step, for the fault matrix
 * (test/e2e/fault-matrix.test.ts, `npm run faults`). Inert unless `KONG_GATEWAY_TEST_FAULT` is
 * set; nothing in the program sets it, and a user never should.
 *
 *   KONG_GATEWAY_TEST_FAULT=<install|upgrade|rollback>:<step>:<fail|pause>
 *   KONG_GATEWAY_TEST_FAULT_DIR=<directory>            (pause only)
 *
 * `<kind>` is the kind of the spec the runner runs with: `decommission` (`node-delete`) runs with
 * the spec of the node it deletes, i.e. of the chain that created it.
 *
 * `fail`: the step fails before doing anything, as a real failure would (journaled, then the
 * automatic rollback where the chain has one). `pause`: the step writes `<dir>/<step>.paused`
 * (its pid) and waits for `<dir>/<step>.release` before doing its work, so a test can kill the
 * `pulumi up` process group, restart PostgreSQL or take the migrations lock exactly while this
 * step runs.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StepName, StepSpec } from "../../contract/spec";

/** The environment variable that arms the fault. */
export const TEST_FAULT_ENV = "KONG_GATEWAY_TEST_FAULT";
/** Where a paused step writes its marker and waits for its release file. */
export const TEST_FAULT_DIR_ENV = "KONG_GATEWAY_TEST_FAULT_DIR";

/** The fault armed for `step` of `spec`'s chain, if any. */
function armed(spec: Pick<StepSpec, "kind">, step: StepName): "fail" | "pause" | undefined {
  const value = process.env[TEST_FAULT_ENV];
  if (!value) {
    return undefined;
  }
  const [kind, name, what] = value.split(":");
  if (what !== "fail" && what !== "pause") {
    throw new Error(
      `${TEST_FAULT_ENV}=${value} is not <install|upgrade|rollback>:<step>:<fail|pause>; unset it (it is for tests only)`,
    );
  }
  return kind === spec.kind && name === step ? what : undefined;
}

/** Applies the armed fault of `step`, if any: throws (`fail`) or waits for the release (`pause`). */
export async function testFault(spec: Pick<StepSpec, "kind">, step: StepName): Promise<void> {
  const what = armed(spec, step);
  if (what === undefined) {
    return;
  }
  process.stderr.write(`[kong-gateway] TEST FAULT ${process.env[TEST_FAULT_ENV]}\n`);
  if (what === "fail") {
    throw new Error(`test fault: step "${step}" of the ${spec.kind} failed on purpose`);
  }
  const dir = process.env[TEST_FAULT_DIR_ENV];
  if (!dir) {
    throw new Error(`${TEST_FAULT_ENV} asks for a pause but ${TEST_FAULT_DIR_ENV} is not set`);
  }
  // Written whole, then renamed: whoever sees the marker reads the pid.
  writeFileSync(join(dir, `${step}.paused.tmp`), String(process.pid));
  renameSync(join(dir, `${step}.paused.tmp`), join(dir, `${step}.paused`));
  while (!existsSync(join(dir, `${step}.release`))) {
    await new Promise((r) => setTimeout(r, 20));
  }
}
