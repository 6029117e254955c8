/**
 * The `local` runtime: Kong nodes as processes on this machine (the machine that runs Pulumi),
 * each in its own prefix under the stack's state directory.
 */
import { localMachine } from "../infra/machine";
import type { NodeRuntime } from "./nodeRuntime";
import { processRuntime } from "./process";
import type { StepSpec } from "../../contract/spec";

/** The local runtime of `spec`. */
export function localRuntime(spec: StepSpec): NodeRuntime {
  return processRuntime(spec, {
    machineOf: () => localMachine,
    nameMachines: false,
    installSetting: "kong-gateway:local.install",
    reinstall: "",
    checkPrefixRoot: false,
  });
}
