/**
 * Kong version numbers as people write them in config: a bare OSS version (`3.6.1`), an
 * Enterprise version (`3.4.3.12`), or the image reference that carries one
 * (`kong:3.6.1`, `kong/kong-gateway:3.4.3.12`, `registry.local:5000/kong:3.6.1`).
 * Everything the planner decides starts from these numbers, so anything ambiguous (a floating
 * tag like `kong:3.6` or `latest`, a release candidate) is refused rather than guessed.
 */
import { PlanError } from "./errors";

/** A parsed Kong version. Enterprise numbers have a fourth part (`build`). */
export interface KongVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Fourth part of an Enterprise version (`12` in `3.4.3.12`); absent for OSS. */
  readonly build?: number;
  /** True for four-part (Enterprise) numbers: KONG.md §5 says their first three parts rule. */
  readonly enterprise: boolean;
  /** The canonical version text (`3.6.1`, `3.4.3.12`), whatever form the input had. */
  readonly text: string;
  /** The image reference, when the input was one; kept so callers can run exactly that image. */
  readonly image?: string;
}

/**
 * Distribution suffixes Kong publishes its images with (`kong:3.6.1-ubuntu`). A closed list so
 * that `-rc1`, `-beta` and similar pre-releases, which have no place on the upgrade graph, are
 * refused.
 */
const IMAGE_FLAVOURS = ["ubuntu", "alpine", "rhel", "debian", "amazonlinux", "centos"];

const NUMBER = "(0|[1-9][0-9]{0,5})";
const VERSION_RE = new RegExp(`^${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:\\.${NUMBER})?$`);
const TAG_RE = new RegExp(
  `^(${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:\\.${NUMBER})?)(?:-(?:${IMAGE_FLAVOURS.join("|")}))?$`,
);
/** A registry host: has a dot or a port, or is `localhost` (Docker's own rule). */
const HOST_RE =
  /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+(?::[0-9]{1,5})?|[a-zA-Z0-9-]+:[0-9]{1,5}|localhost)$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DIGEST_RE = /@sha256:[0-9a-f]{64}$/;

function refuse(input: string, why: string): PlanError {
  return new PlanError(
    "version",
    `version ${JSON.stringify(input)} ${why}; use a full version such as 3.6.1 (OSS) or ` +
      `3.4.3.12 (Enterprise), or a pinned image such as kong:3.6.1 or kong/kong-gateway:3.4.3.12`,
  );
}

/** Builds a version from text already matched by {@link VERSION_RE}. */
function fromNumbers(text: string, image: string | undefined): KongVersion {
  const m = VERSION_RE.exec(text) as RegExpExecArray;
  const base = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text };
  const withBuild =
    m[4] === undefined
      ? { ...base, enterprise: false }
      : { ...base, build: Number(m[4]), enterprise: true };
  return image === undefined ? withBuild : { ...withBuild, image };
}

function parseImage(input: string): KongVersion {
  const withoutDigest = input.replace(DIGEST_RE, "");
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  if (colon < 0) {
    throw refuse(input, "is an image without a tag, so its Kong version is unknown");
  }
  const name = withoutDigest.slice(0, colon);
  const tag = withoutDigest.slice(colon + 1);
  const components = name.split("/");
  const first = components[0] as string;
  const repository =
    components.length > 1 && HOST_RE.test(first) ? components.slice(1) : components;
  if (!repository.every((c) => PATH_COMPONENT_RE.test(c))) {
    throw refuse(input, "is neither a version nor a valid image reference");
  }
  const match = TAG_RE.exec(tag);
  if (match === null) {
    throw refuse(
      input,
      `has the tag "${tag}", which does not pin a released Kong version (floating tags such as ` +
        `3.6 or latest change under you)`,
    );
  }
  return fromNumbers(match[1] as string, input);
}

/**
 * Parses a version or an image reference. Surrounding whitespace is ignored; anything else that
 * is not exactly one of the accepted forms throws a `PlanError` with code `version` that quotes
 * the input and shows valid examples.
 */
export function parseVersion(input: string): KongVersion {
  const trimmed = input.trim();
  if (VERSION_RE.test(trimmed)) {
    return fromNumbers(trimmed, undefined);
  }
  if (trimmed.includes(":")) {
    return parseImage(trimmed);
  }
  throw refuse(input, "is not a Kong version");
}

/**
 * Orders versions: by major, minor and patch, then by the Enterprise build, an OSS number coming
 * before any Enterprise number with the same first three parts (so OSS → Enterprise of one release
 * is an upgrade and the reverse a downgrade). Returns -1, 0 or 1, for `Array.prototype.sort`.
 */
export function compareVersions(a: KongVersion, b: KongVersion): number {
  const keys: [number, number][] = [
    [a.major, b.major],
    [a.minor, b.minor],
    [a.patch, b.patch],
    [a.build ?? -1, b.build ?? -1],
  ];
  for (const [x, y] of keys) {
    if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/** The canonical text of a version (`3.6.1`, `3.4.3.12`), never the image reference. */
export function formatVersion(v: KongVersion): string {
  const base = `${v.major}.${v.minor}.${v.patch}`;
  return v.build === undefined ? base : `${base}.${v.build}`;
}

/** The minor release a version belongs to (`3.6`): the unit of Kong's upgrade guarantees. */
export function minorOf(v: KongVersion): string {
  return `${v.major}.${v.minor}`;
}

/**
 * Compares only the first three parts, which is what decides migrations and upgrade paths for
 * Enterprise numbers too (KONG.md §5).
 */
export function compareReleases(a: KongVersion, b: KongVersion): number {
  return compareVersions({ ...a, build: undefined }, { ...b, build: undefined });
}
