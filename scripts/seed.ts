/**
 * Seeds a Kong cluster through its Admin API with the kind of configuration an upgrade must keep:
 * services with routes, key-auth consumers with credentials, and rate-limiting plugins with the
 * `redis_*` settings Kong 3.6's migration moves into `config.redis`.
 *
 *   npx tsx scripts/seed.ts <admin-url> [--services N] [--consumers N]
 */

/** How much to create. */
export interface SeedOptions {
  readonly services: number;
  readonly consumers: number;
  /** Requests in flight at once. @default 8 */
  readonly concurrency?: number;
}

/** What was created, by entity. */
export interface SeedCounts {
  services: number;
  routes: number;
  consumers: number;
  credentials: number;
  plugins: number;
}

async function post(admin: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${admin}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Runs `fn(0)` … `fn(n - 1)` with at most `limit` running at once, each worker taking the next
 * index as soon as its last one is done (no batch waits for its slowest); rejects with the first
 * failure, after the running ones settle.
 */
export async function inPool(
  n: number,
  limit: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < n) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(limit, n)) }, worker),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) {
    throw failure.reason;
  }
}

/** Creates the entities, a few requests at a time. */
export async function seed(admin: string, opts: SeedOptions): Promise<SeedCounts> {
  const counts: SeedCounts = { services: 0, routes: 0, consumers: 0, credentials: 0, plugins: 0 };
  const batch = (n: number, fn: (i: number) => Promise<void>) =>
    inPool(n, opts.concurrency ?? 8, fn);
  await batch(opts.services, async (i) => {
    const svc = await post(admin, "/services", { name: `svc-${i}`, url: "http://echo.sim:80/" });
    counts.services++;
    await post(admin, `/services/${String(svc.id)}/routes`, {
      name: `route-${i}`,
      paths: [`/svc-${i}`],
    });
    counts.routes++;
    await post(admin, "/plugins", {
      name: "rate-limiting",
      service: { id: svc.id },
      config: {
        minute: 1000 + i,
        policy: "redis",
        redis_host: `redis-${i % 3}.internal`,
        redis_port: 6379,
        redis_timeout: 2000,
        redis_database: i % 16,
      },
    });
    counts.plugins++;
  });
  await batch(opts.consumers, async (i) => {
    await post(admin, "/consumers", { username: `user-${i}` });
    counts.consumers++;
    await post(admin, `/consumers/user-${i}/key-auth`, { key: `key-${i}` });
    counts.credentials++;
  });
  return counts;
}

if (require.main === module) {
  const [admin, ...rest] = process.argv.slice(2);
  const num = (flag: string, dflt: number) => {
    const i = rest.indexOf(flag);
    return i >= 0 ? Number(rest[i + 1]) : dflt;
  };
  if (!admin) {
    process.stderr.write("usage: seed.ts <admin-url> [--services N] [--consumers N]\n");
    process.exit(1);
  }
  seed(admin, { services: num("--services", 50), consumers: num("--consumers", 100) }).then(
    (c) =>
      process.stdout.write(
        `seeded ${c.services} services, ${c.routes} routes, ${c.plugins} rate-limiting plugins, ${c.consumers} consumers, ${c.credentials} key-auth credentials\n`,
      ),
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}
