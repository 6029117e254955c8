/**
 * What a stack deployed last, read back from its own outputs. A KongGateway decides between
 * install, upgrade, rollback and a settings change by comparing the configured version with the
 * deployed one, so every program that builds one passes this as `deployed` and exports the
 * component's `deployment` output under the same name.
 */
import * as pulumi from "@pulumi/pulumi";
import { DeployedState, parseDeployed } from "./chain";

/**
 * The running stack's own `outputName` output of its last update, through a StackReference to
 * itself (a resource: call it from the program, never at import). Undefined on a new stack.
 */
export async function previousDeployment(
  outputName = "deployment",
): Promise<DeployedState | undefined> {
  const self = new pulumi.StackReference(
    `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  );
  const details = await self.getOutputDetails(outputName);
  return parseDeployed(details.value ?? details.secretValue);
}
