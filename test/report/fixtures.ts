/** Reports for the timeline's tests: made up, with round numbers so positions are checkable. */
import type { UpgradeReport } from "../../components/runner/steps/report";

const T0 = Date.parse("2024-06-01T02:00:00Z");
/** The ISO time `s` seconds after the sample's start. */
export const at = (s: number) => new Date(T0 + s * 1000).toISOString();
/** A measured step from `from` to `to` seconds. */
export const step = (name: string, from: number, to: number) => ({
  name,
  startedAt: at(from),
  finishedAt: at(to),
  seconds: to - from,
});

/** A 3.5.0 → 3.6.0 upgrade: outage from 2.5 s (in stop) to 8 s (in start). */
export function sampleReport(extra: Partial<UpgradeReport> = {}): UpgradeReport {
  return {
    kind: "upgrade",
    from: "3.5.0",
    to: "3.6.0",
    generation: 1,
    outcome: "succeeded",
    steps: [
      step("preflight", 0, 2),
      step("stop", 2, 3.5),
      step("backup", 3.5, 4.5),
      step("migrations-up", 4.5, 6),
      step("migrations-finish", 6, 7),
      step("start", 7, 8),
      step("verify", 8, 9),
    ],
    downtimeSeconds: 5.5,
    outage: { startedAt: at(2.5), endedAt: at(8) },
    backup: {
      id: "kong-3.5.0-to-3.6.0-20240601T020003Z",
      path: "/b/x.dump",
      sha256: "ab",
      bytes: 9,
    },
    ...extra,
  };
}
