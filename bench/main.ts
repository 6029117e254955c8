/**
 * `npm run bench`: the runbook baseline and each strategy, measured the same way, at each size,
 * interleaved run by run (runbook, in-place, prepared, rolling, then the next run) so a busy
 * machine slows them alike. Writes bench/results.json, bench/results.md and one SVG timeline per
 * size and run (one row per strategy, the prober's outage shaded).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { renderTimeline } from "../components/report/timeline";
import { startPostgres } from "../test/support/postgres";
import { binaries, copyDb, dropDb, seedSize } from "./fixtures";
import {
  BenchResults,
  PreviewTime,
  renderMarkdown,
  RunResult,
  SizeInfo,
  timelineReport,
  Unavailable,
} from "./results";
import type { DatabaseSettings } from "../test/support/postgres";
import {
  installStrategy,
  type InstalledStrategy,
  PROBE_MS,
  previewTime,
  runbookRun,
  strategyRun,
  StrategyUnavailable,
} from "./runs";

/** What one `npm run bench` does. */
export interface BenchOptions {
  /** Entities per size. @default [1000, 10000] */
  readonly sizes: readonly number[];
  /** @default 3 */
  readonly runs: number;
  /** @default ["in-place", "prepared", "rolling"] */
  readonly strategies: readonly string[];
  /** Node counts for the preview timing. @default [1, 3, 10] */
  readonly previewNodes: readonly number[];
  /** @default 2 */
  readonly nodes: number;
  readonly from: string;
  readonly to: string;
  /** Where results go. */
  readonly outDir: string;
  readonly command: string;
  readonly note?: string;
}

const log = (m: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Runs everything; returns the results it wrote. */
export async function bench(opts: BenchOptions): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg()[0] ?? 0;
  const pg = await startPostgres();
  const runs: RunResult[] = [];
  const sizes: SizeInfo[] = [];
  const unavailable: Unavailable[] = [];
  const preview: PreviewTime[] = [];
  const timelines: string[] = [];
  mkdirSync(join(opts.outDir, "timelines"), { recursive: true });
  /** Writes what was measured so far: an interrupted run still leaves its numbers. */
  const write = (partial: boolean): BenchResults => {
    const note = [
      partial ? "Partial: the run was still going (or stopped) when this was written." : "",
      opts.note ?? "",
    ]
      .filter((n) => n !== "")
      .join(" ");
    const results: BenchResults = {
      startedAt,
      finishedAt: new Date().toISOString(),
      command: opts.command,
      machine: { cpus: cpus().length, loadAtStart, loadAverage: loadavg() },
      hop: { from: opts.from, to: opts.to, nodes: opts.nodes },
      probeIntervalMs: PROBE_MS,
      ...(note ? { note } : {}),
      sizes,
      runs,
      unavailable,
      preview,
      timelines,
    };
    writeFileSync(join(opts.outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(opts.outDir, "results.md"), renderMarkdown(results));
    return results;
  };
  try {
    const bins = await binaries(opts.from, opts.to);
    for (const size of opts.sizes) {
      const seeded = await seedSize(pg, bins.x, size, log);
      // Each strategy's stack is installed once per size (at its first run) and restored from
      // its snapshot before every later run: the same start, without another install.
      const installed = new Map<string, InstalledStrategy>();
      const install = async (strategy: string, db: DatabaseSettings) => {
        const copy = await copyDb(pg, db, `${strategy}_${size}`);
        try {
          const inst = await installStrategy(
            pg,
            copy,
            opts.from,
            opts.nodes,
            strategy,
            `${strategy} ${size}`,
            log,
          );
          log(`${strategy} ${size}: installed in ${inst.installSeconds.toFixed(1)} s, saved`);
          installed.set(strategy, {
            ...inst,
            dispose: () => inst.dispose().finally(() => dropDb(pg, copy)),
          });
          return inst;
        } catch (e) {
          await dropDb(pg, copy);
          throw e;
        }
      };
      try {
        log(
          `seeded ${size}: ${JSON.stringify(seeded.info.entities)}, ${seeded.info.databaseBytes} bytes in ${seeded.info.seedSeconds.toFixed(1)} s`,
        );
        for (let run = 1; run <= opts.runs; run++) {
          const row: RunResult[] = [];
          const db = await copyDb(pg, seeded.db, `runbook_${size}_${run}`);
          try {
            log(`runbook ${size} #${run}`);
            row.push(await runbookRun(db, bins, opts.nodes, size, run));
            log(`runbook ${size} #${run}: outage ${row.at(-1)!.outage.longestSeconds} s`);
          } finally {
            await dropDb(pg, db);
          }
          for (const strategy of opts.strategies) {
            if (unavailable.some((u) => u.strategy === strategy)) {
              continue;
            }
            try {
              // A stack already upgraded by an earlier run is put back first.
              const done = installed.get(strategy);
              const inst = done ?? (await install(strategy, seeded.db));
              const r = await strategyRun(
                inst,
                opts.from,
                opts.to,
                size,
                run,
                done !== undefined,
                log,
              );
              log(
                `${strategy} ${size} #${run}: outage ${r.outage.longestSeconds} s, reported ${r.reportedDowntimeSeconds} s, estimate ${r.estimatedDowntimeSeconds} s`,
              );
              row.push(r);
            } catch (e) {
              if (!(e instanceof StrategyUnavailable)) {
                throw e;
              }
              log(`${strategy}: not available in this build (${e.message})`);
              unavailable.push({ strategy, reason: e.message });
            }
          }
          runs.push(...row);
          const file = `timelines/${size}-run${run}.svg`;
          writeFileSync(
            join(opts.outDir, file),
            renderTimeline(
              row.map((r) => ({
                report: timelineReport(r, opts.from, opts.to),
                label: `${r.strategy}: outage ${r.outage.longestSeconds.toFixed(2)} s (prober)${r.reportedDowntimeSeconds !== undefined ? `, ${r.reportedDowntimeSeconds.toFixed(2)} s reported` : ""}`,
              })),
              `${size.toLocaleString("en-US")} entities, run ${run}: Kong ${opts.from} → ${opts.to} on ${opts.nodes} nodes`,
            ),
          );
          timelines.push(file);
          write(true);
        }
      } finally {
        for (const inst of installed.values()) {
          await inst.dispose();
        }
      }
      sizes.push({
        ...seeded.info,
        rawDumpSeconds: runs
          .filter((r) => r.size === size && r.strategy === "runbook")
          .map((r) => r.backupSeconds ?? 0),
      });
    }
    const smallest = sizes[0];
    for (const nodes of opts.previewNodes) {
      if (!smallest) {
        break;
      }
      const db = await copyDb(
        pg,
        {
          host: pg.host,
          port: pg.port,
          user: "kong",
          password: "",
          database: `bench_seed_${smallest.size}`,
        },
        `preview_${nodes}`,
      );
      try {
        const seconds = await previewTime(db, opts.from, opts.to, nodes, log);
        log(`preview on ${nodes} nodes: ${seconds.toFixed(2)} s`);
        preview.push({ nodes, seconds });
        write(true);
      } finally {
        await dropDb(pg, db);
      }
    }
  } finally {
    await pg.stop();
  }
  return write(false);
}
