/**
 * The runtime the spec names, built from the implementations of the runtime seam
 * (nodeRuntime.ts): processes on this machine or on hosts over SSH, or containers.
 */
import { dockerRuntime } from "./docker";
import { localMachine } from "../infra/machine";
import type { NodeRuntime } from "./nodeRuntime";
import { processRuntime } from "./process";
import { StepSpec } from "../../contract/spec";
import { sshMachine } from "../infra/ssh";

export type { NodeRuntime, StartResult } from "./nodeRuntime";

/** The runtime the spec names (`local` when it names none). */
export function runtimeFor(spec: StepSpec): NodeRuntime {
  const rt = spec.runtime ?? { kind: "local" };
  switch (rt.kind) {
    case "docker":
      return dockerRuntime(spec);
    case "hosts": {
      const machines = new Map<string, ReturnType<typeof sshMachine>>();
      return processRuntime(spec, (host) => {
        const address = host ?? rt.migrationHost;
        let m = machines.get(address);
        if (!m) {
          m = sshMachine(rt.ssh, address, spec.stateDir);
          machines.set(address, m);
        }
        return m;
      });
    }
    default:
      return processRuntime(spec, () => localMachine);
  }
}
