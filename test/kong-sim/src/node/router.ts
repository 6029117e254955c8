/**
 * Route matching, a simplified form of Kong's traditional router: a route matches when every
 * attribute it sets matches (methods, hosts with `*.` wildcards, path prefixes or `~` regexes,
 * headers). Among matches: more attributes set first, then regex_priority, then longer path, then
 * the older route.
 */
import type { RouteRow } from "./store";

/** A request as the router sees it. */
export interface RouteRequest {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly protocol: "http" | "https";
}

/** The chosen route and the path prefix it matched (for `strip_path`). */
export interface RouteMatch {
  readonly route: RouteRow;
  readonly matchedPath: string;
}

function hostMatches(pattern: string, host: string): boolean {
  const h = host.replace(/:\d+$/, "").toLowerCase();
  const p = pattern.replace(/:\d+$/, "").toLowerCase();
  if (p.startsWith("*.")) {
    return h.endsWith(p.slice(1));
  }
  if (p.endsWith(".*")) {
    return h.startsWith(p.slice(0, -1));
  }
  return h === p;
}

/** Kong 3 marks regex paths with `~`; 2.8 guessed from regex characters. */
function pathMatch(pattern: string, path: string, legacyRegex: boolean): string | undefined {
  const isRegex = pattern.startsWith("~") || (legacyRegex && /[$^*+?()[\]{}|\\]/.test(pattern));
  if (isRegex) {
    try {
      const m = new RegExp(`^(?:${pattern.replace(/^~/, "")})`).exec(path);
      return m ? m[0] : undefined;
    } catch {
      return undefined;
    }
  }
  return path.startsWith(pattern) ? pattern : undefined;
}

interface Candidate {
  match: RouteMatch;
  score: number;
  pathLen: number;
}

/** Finds the route for a request, or undefined (Kong's 404 "no Route matched with those values"). */
export function matchRoute(
  routes: readonly RouteRow[],
  req: RouteRequest,
  legacyRegex: boolean,
): RouteMatch | undefined {
  const found: Candidate[] = [];
  for (const route of routes) {
    const protocols = route.protocols ?? ["http", "https"];
    if (!protocols.includes(req.protocol)) {
      continue;
    }
    let score = 0;
    if (route.methods?.length) {
      if (!route.methods.includes(req.method.toUpperCase())) {
        continue;
      }
      score++;
    }
    if (route.hosts?.length) {
      if (!route.hosts.some((h) => hostMatches(h, req.host))) {
        continue;
      }
      score++;
    }
    const headers = Object.entries(route.headers ?? {});
    if (headers.length > 0) {
      const ok = headers.every(([name, values]) => {
        const got = req.headers[name.toLowerCase()];
        const list = Array.isArray(got) ? got : got === undefined ? [] : [got];
        return list.some((v) => values.map((x) => x.toLowerCase()).includes(v.toLowerCase()));
      });
      if (!ok) {
        continue;
      }
      score++;
    }
    let matchedPath = "/";
    if (route.paths?.length) {
      const hits = route.paths
        .map((p) => pathMatch(p, req.path, legacyRegex))
        .filter((p): p is string => p !== undefined);
      if (hits.length === 0) {
        continue;
      }
      matchedPath = hits.sort((a, b) => b.length - a.length)[0] ?? "/";
      score++;
    }
    if (score === 0) {
      continue;
    }
    found.push({
      match: { route, matchedPath },
      score,
      pathLen: route.paths?.length ? matchedPath.length : 0,
    });
  }
  found.sort(
    (a, b) =>
      b.score - a.score ||
      (b.match.route.regex_priority ?? 0) - (a.match.route.regex_priority ?? 0) ||
      b.pathLen - a.pathLen ||
      a.match.route.created_at.getTime() - b.match.route.created_at.getTime(),
  );
  return found[0]?.match;
}
