/**
 * How a command resource invokes the step runner: the command text (no secrets, readable in
 * preview) and its environment (the spec, and the password as a secret). Pure.
 */
import * as pulumi from "@pulumi/pulumi";
import { encodeSpec, SPEC_ENV, StepSpec } from "./contract/spec";
import { packageLocation } from "./runnerBundle";
import { SSH_KEY_ENV } from "./runner/infra/ssh";

/**
 * The shell command that runs one runner command, in the package root ({@link runnerDir}): the
 * bundle's path is relative, so the text is the same wherever the package is installed.
 */
export function runnerCommand(step: string, arg?: string): string {
  return `node ${packageLocation().runnerBundle} ${step}${arg ? ` ${arg}` : ""}`;
}

/** The working directory of every runner command: the root of this package (runnerBundle.ts). */
export function runnerDir(): string {
  return packageLocation().root;
}

/**
 * The environment of every runner command: the spec, the database password and, on the hosts
 * runtime, the SSH private key (both secrets).
 */
export function runnerEnvironment(
  spec: StepSpec,
  password: pulumi.Input<string>,
  sshPrivateKey?: pulumi.Input<string>,
): Record<string, pulumi.Input<string>> {
  return {
    [SPEC_ENV]: encodeSpec(spec),
    KONG_PG_PASSWORD: pulumi.secret(password),
    ...(sshPrivateKey !== undefined ? { [SSH_KEY_ENV]: pulumi.secret(sshPrivateKey) } : {}),
  };
}
