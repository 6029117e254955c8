/**
 * The state one node shares between its listeners: configuration snapshot (rebuilt from the
 * database every second and after each Admin API write), database reachability, nginx-like
 * connection counters, and drain state.
 */
import { randomUUID } from "node:crypto";
import type { KongConf } from "../conf";
import type { Faults } from "../faults";
import { DbError, type Db } from "../pg";
import type { KongVersion } from "../version";
import { Dao } from "./dao";
import type { ErrorLog } from "./errlog";
import { RateCounters } from "./plugins";
import { loadSnapshot, type Snapshot } from "./store";

/** nginx stub_status counters. */
export interface Counters {
  accepted: number;
  handled: number;
  active: number;
  writing: number;
  total: number;
}

/** One node's shared state. */
export class Runtime {
  readonly nodeId = randomUUID();
  readonly counters: Counters = { accepted: 0, handled: 0, active: 0, writing: 0, total: 0 };
  readonly rates = new RateCounters();
  readonly dao: Dao;
  snapshot?: Snapshot;
  /** Why the last build failed (router never built / broken schema), for logs and readiness. */
  buildError?: string;
  dbReachable = true;
  draining = false;
  /** Set by KONG_SIM_UNREADY_AFTER_MS: the node behaves as if the database were gone. */
  simulatedOutage = false;
  private building?: Promise<void>;

  constructor(
    readonly version: KongVersion,
    readonly conf: KongConf,
    readonly db: Db,
    readonly plugins: ReadonlySet<string>,
    readonly faults: Faults,
    readonly log: ErrorLog,
  ) {
    this.dao = new Dao(db, version, plugins);
  }

  /** Rebuilds the snapshot; failures keep the previous one (as Kong keeps its cached config). */
  rebuild(): Promise<void> {
    if (this.simulatedOutage) {
      this.dbReachable = false;
      return Promise.resolve();
    }
    this.building ??= this.doRebuild().finally(() => {
      this.building = undefined;
    });
    return this.building;
  }

  private async doRebuild(): Promise<void> {
    try {
      this.snapshot = await loadSnapshot(this.db, this.version, this.plugins);
      this.dbReachable = true;
      if (this.buildError) {
        this.log.write("notice", "[kong] router rebuilt successfully");
      }
      this.buildError = undefined;
    } catch (err) {
      const msg = (err as Error).message;
      const connection = err instanceof DbError && err.connecting;
      this.dbReachable = !connection;
      if (!connection) {
        // Same error every second is what a broken Kong node does too; keep the log readable.
        if (this.buildError !== msg) {
          this.log.write(
            "error",
            `[kong] init.lua:1: could not build router: [PostgreSQL error] ${msg}`,
          );
        }
        this.buildError = msg;
      } else {
        this.log.write("error", `[kong] [PostgreSQL error] ${msg}, context: ngx.timer`);
      }
    }
  }

  /** Announces a configuration change to other nodes (Kong's cluster events) and rebuilds. */
  async changed(): Promise<void> {
    await this.db
      .query(
        `INSERT INTO cluster_events (id, node_id, at, nbf, expire_at, channel, data)
         VALUES ($1, $2, now(), NULL, now() + interval '1 hour', 'invalidations', 'router:version')`,
        [randomUUID(), this.nodeId],
      )
      .catch(() => undefined);
    await this.rebuild();
  }

  /** Readiness as /status/ready reports it: undefined = ready, else the 503 message. */
  unreadyReason(): string | undefined {
    if (this.draining) {
      return "draining";
    }
    if (!this.dbReachable) {
      return "failed to connect to database";
    }
    if (!this.snapshot || this.buildError) {
      return "router builds not yet complete";
    }
    return undefined;
  }
}
