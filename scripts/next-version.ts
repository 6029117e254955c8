/**
 * Prints the next guaranteed hop from a deployed Kong version (the demo's version bump):
 * the next minor's .0 release, or the next LTS for 2.8; nothing (exit 3) at the newest minor.
 *
 *   npx tsx scripts/next-version.ts 3.5.0   →   3.6.0
 */
import { checkHop, KNOWN_MINORS, parseVersion } from "../components/plan";

const from = parseVersion(process.argv[2] ?? "");
const minor = `${from.major}.${from.minor}`;
const later = KNOWN_MINORS.slice(KNOWN_MINORS.indexOf(minor) + 1);
const next = later.map((m) => `${m}.0`).find((v) => checkHop(from, parseVersion(v)).allowed);
if (!next) {
  process.stderr.write(
    `no guaranteed hop from ${from.text}: it is the newest minor the planner knows\n`,
  );
  process.exit(3);
}
process.stdout.write(`${next}\n`);
