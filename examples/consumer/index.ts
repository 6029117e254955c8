/**
 * A Pulumi program of its own that runs Kong Gateway through the kong-gateway package: its own
 * project name and config keys (`consumer:*`), the `local` runtime (Kong processes on this
 * machine) and a local PostgreSQL. Bump `consumer:kongVersion` by one guaranteed hop and
 * `pulumi up` upgrades in place. The package's own files (step runner, database scripts) come
 * with it: nothing of kong-gateway's checkout is needed here.
 */
import * as pulumi from "@pulumi/pulumi";
import { KongGateway, previousDeployment } from "kong-gateway";

export = async () => {
  const config = new pulumi.Config();
  const gateway = new KongGateway("edge", {
    version: config.require("kongVersion"),
    nodes: config.getNumber("nodes"),
    runtime: "local",
    database: { mode: "local", port: config.getNumber("dbPort") },
    local: {
      install: `${config.require("kongInstall")} {version} {dir}`,
      basePort: config.getNumber("basePort"),
    },
    databasePassword: config.requireSecret("dbPassword"),
    // What this stack deployed last: install, upgrade, rollback or settings change follow from it.
    deployed: await previousDeployment(),
  });
  return {
    version: gateway.version,
    proxyUrls: gateway.proxyUrls,
    adminUrls: gateway.adminUrls,
    upgradePlan: gateway.upgradePlan,
    lastUpgrade: gateway.lastUpgrade,
    // Read back by previousDeployment() on the next run: keep this output's name.
    deployment: gateway.deployment,
  };
};
