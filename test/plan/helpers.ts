/**
 * Small helpers shared by the planner's tests: asserting refusals by code and message, and
 * building requests without repeating the boilerplate.
 */
import assert from "node:assert/strict";
import { PlanError, PlanErrorCode, PlanRequest, PluginsSetting } from "../../components/plan";

/** Asserts that `fn` throws a PlanError with `code` whose message contains every `parts`. */
export function assertRefused(
  fn: () => unknown,
  code: PlanErrorCode,
  ...parts: string[]
): PlanError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PlanError, `expected a PlanError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const part of parts) {
    assert.ok(
      caught.message.includes(part),
      `message lacks ${JSON.stringify(part)}:\n${caught.message}`,
    );
  }
  return caught;
}

/** An upgrade request between two versions on same-sized clusters. */
export function request(
  from: string | undefined,
  to: string,
  extra: Partial<PlanRequest> = {},
  plugins: PluginsSetting = "bundled",
): PlanRequest {
  return {
    ...(from === undefined ? {} : { deployed: { version: from, nodes: 2, plugins } }),
    target: { version: to, nodes: 2, plugins },
    ...extra,
  };
}
