/**
 * The package's public surface (package.json `exports`): what another Pulumi program imports as
 * `kong-gateway`. Explicit names (no `export *`) keep the API reviewable in one place. Importing
 * it has no side effect: no resource, no stack config read, no build; the step runner and the
 * local database's scripts ship inside the package (runnerBundle.ts).
 */
export { KongGateway } from "./kongGateway";
export type { KongGatewayArgs } from "./kongGateway";
export { previousDeployment } from "./deployment";
export { parseDeployed } from "./chain";
export type { ChainDecision, ChainSettings, DeployedState, PastRunRecord } from "./chain";
export type {
  BackupArgs,
  CapacityArgs,
  DatabaseArgs,
  DockerRuntimeArgs,
  HostsRuntimeArgs,
  LocalRuntimeArgs,
  PlainSettings,
  ProbeArgs,
  TimeoutArgs,
} from "./config/config";
export type { ReportStep, UpgradeReport } from "./contract/report";
export { PlanError, planChange, planSummary, planToJson, renderPlan } from "./plan";
export type { Plan, PlanErrorCode, PlannedStep, PlanRequest, PlanSummary } from "./plan";
