/**
 * Kong version numbers as the stand-in understands them: open-source `X.Y.Z` and Enterprise
 * `X.Y.Z.N`, limited to the releases whose behaviour KONG.md describes (2.8.x, 3.0.x … 3.10.x).
 */

/** A parsed, supported Kong version. */
export interface KongVersion {
  /** The text the user gave, printed back by `kong version`. */
  readonly raw: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Fourth part of an Enterprise version (`3.4.3.12` → 12); absent for open source. */
  readonly enterprise?: number;
}

const SHAPE = /^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?$/;

/** Explains what versions exist, for refusal messages. */
export const SUPPORTED_TEXT =
  "2.8.x and 3.0.x … 3.10.x (open source X.Y.Z, or Enterprise X.Y.Z.N such as 3.4.3.12)";

/** Parses `raw`; throws an Error naming the value and what is accepted when it is not supported. */
export function parseVersion(raw: string): KongVersion {
  const m = SHAPE.exec(raw.trim());
  if (!m) {
    throw new Error(`'${raw}' is not a Kong version number; expected ${SUPPORTED_TEXT}`);
  }
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const supported = (major === 2 && minor === 8) || (major === 3 && minor >= 0 && minor <= 10);
  if (!supported) {
    throw new Error(`Kong ${raw} is not supported by the stand-in; it knows ${SUPPORTED_TEXT}`);
  }
  const v = { raw: raw.trim(), major, minor, patch };
  return m[4] === undefined ? v : { ...v, enterprise: Number(m[4]) };
}

/** Compares the first three parts (Enterprise builds follow their open-source base). */
export function compareVersions(a: KongVersion, b: KongVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** True when `v` is at least `min` (written `X.Y.Z`). */
export function atLeast(v: KongVersion, min: string): boolean {
  const [major = 0, minor = 0, patch = 0] = min.split(".").map(Number);
  return compareVersions(v, { raw: min, major, minor, patch }) >= 0;
}
