/**
 * The `hosts` runtime: Kong nodes as processes on machines the operator runs, one node per host,
 * reached over SSH (infra/ssh.ts, host keys pinned); migrations run on `hosts.migrationHost`.
 */
import { sshMachine } from "../infra/ssh";
import type { NodeRuntime } from "./nodeRuntime";
import { processRuntime } from "./process";
import type { StepSpec } from "../../contract/spec";

/** The hosts runtime of `spec`, whose runtime is `hosts`. */
export function hostsRuntime(
  spec: StepSpec,
  rt: Extract<NonNullable<StepSpec["runtime"]>, { kind: "hosts" }>,
): NodeRuntime {
  const machines = new Map<string, ReturnType<typeof sshMachine>>();
  return processRuntime(spec, {
    machineOf: (host) => {
      const address = host ?? rt.migrationHost;
      let m = machines.get(address);
      if (!m) {
        m = sshMachine(rt.ssh, address, spec.stateDir);
        machines.set(address, m);
      }
      return m;
    },
    migrationHost: rt.migrationHost,
    nameMachines: true,
    installSetting: "kong-gateway:hosts.install",
    reinstall: rt.install,
    ...(rt.startCommand && rt.stopCommand
      ? { service: { startCommand: rt.startCommand, stopCommand: rt.stopCommand } }
      : {}),
    checkPrefixRoot: true,
    recordsOnMachines: true,
  });
}
