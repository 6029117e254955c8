/**
 * Pulumi mocks that also record what the plain `Mocks` interface hides: each registration's
 * parent, dependencies, and which inputs were sent as secrets. Components are imported only after
 * `installMocks()` ran (STYLE.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { getMonitor } from "@pulumi/pulumi/runtime/settings";

/** One resource registration as the engine would have received it. */
export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly parent: string;
  readonly dependencies: string[];
  readonly inputs: Record<string, unknown>;
  /** Raw inputs with secret markers still in place. */
  readonly rawInputs: Record<string, unknown>;
  /** The `ignoreChanges` resource option. */
  readonly ignoreChanges: string[];
}

/** The marker Pulumi's wire format uses for secret values. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** True when `raw` (a raw input value) is a secret on the wire. */
export function isSecret(raw: unknown): boolean {
  return (
    typeof raw === "object" &&
    raw !== null &&
    (raw as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === SECRET_SIG
  );
}

/**
 * Installs mocks for project `kong-gateway`, stack `test`; returns the live registration list.
 * A resource's state is its inputs plus what `outputs` adds (e.g. a command's `stdout`).
 */
export function installMocks(
  preview = false,
  outputs: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown> = () => ({}),
): Registration[] {
  const registrations: Registration[] = [];
  pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: { ...args.inputs, ...outputs(args) },
      }),
      call: (args) => args.inputs,
    },
    "kong-gateway",
    "test",
    preview,
  );
  type Req = {
    getType(): string;
    getName(): string;
    getParent(): string;
    getDependenciesList(): string[];
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getIgnorechangesList(): string[];
  };
  const monitor = getMonitor() as unknown as {
    registerResource: (
      req: Req,
      cb: (err: unknown, res?: { getUrn(): string }) => void,
    ) => Promise<void>;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    original(req, (err, res) => {
      if (!err && res) {
        const raw = req.getObject()?.toJavaScript() ?? {};
        registrations.push({
          type: req.getType(),
          name: req.getName(),
          urn: res.getUrn(),
          parent: req.getParent(),
          dependencies: req.getDependenciesList(),
          inputs: JSON.parse(
            JSON.stringify(raw, (_k, v: unknown) =>
              isSecret(v) ? (v as { value: unknown }).value : v,
            ),
          ) as Record<string, unknown>,
          rawInputs: raw,
          ignoreChanges: req.getIgnorechangesList(),
        });
      }
      cb(err, res);
    });
  return registrations;
}

/** Resolves an Output's value (never assert inside an apply). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}
