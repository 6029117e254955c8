/**
 * The planner's rules, applied again at run time by preflight: the deployed and target versions
 * as the runner finds them, and the maintenance window at the moment the change starts (preview
 * only warns; this refuses).
 */
import { checkHop } from "./paths";
import { parseVersion } from "./version";
import { assertWithinWindow, evaluateWindows, parseWindow } from "./windows";

/** A message when `from → to` is not one guaranteed hop, else undefined. */
export function checkChange(from: string, to: string): string | undefined {
  try {
    const hop = checkHop(parseVersion(from), parseVersion(to));
    return hop.allowed ? undefined : hop.message;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A message when `now` is outside every window (or the change would overrun it), else undefined. */
export function checkWindow(
  windows: readonly string[],
  now: Date,
  spanSeconds = 0,
): string | undefined {
  if (windows.length === 0) {
    return undefined;
  }
  try {
    assertWithinWindow(evaluateWindows(windows.map(parseWindow), now, spanSeconds));
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
