/**
 * The runtime the spec names, built from the implementations of the runtime seam
 * (nodeRuntime.ts): one file per runtime in this folder. Adding a runtime adds a file here, a
 * case below, its settings in config/ and its cluster component (README "Development").
 */
import { dockerRuntime } from "./docker";
import { hostsRuntime } from "./hosts";
import { localRuntime } from "./local";
import type { NodeRuntime } from "./nodeRuntime";
import { StepSpec } from "../../contract/spec";

export type { NodeRuntime, StartResult } from "./nodeRuntime";

/** The runtime the spec names (`local` when it names none). */
export function runtimeFor(spec: StepSpec): NodeRuntime {
  const rt = spec.runtime ?? { kind: "local" };
  switch (rt.kind) {
    case "docker":
      return dockerRuntime(spec);
    case "hosts":
      return hostsRuntime(spec, rt);
    case "local":
      return localRuntime(spec);
  }
}
