/**
 * The timeline renderer on its own: where bars, estimates and the outage land, in what order,
 * and that text cannot break the SVG. Positions are read back from the SVG text.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planChange } from "../../components/plan";
import {
  escapeXml,
  estimateFromPlan,
  renderTimeline,
  TimelineEstimate,
} from "../../components/report/timeline";
import type { UpgradeReport } from "../../components/runner/steps/report";
import { request } from "../plan/helpers";
import { sampleReport, step } from "./fixtures";

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Every `<rect class="<cls>" …>` with its numbers (and data-step, for steps). */
function rects(svg: string, cls: string): (Box & { step?: string })[] {
  return [...svg.matchAll(new RegExp(`<rect class="${cls}"([^>]*)/>`, "g"))].map((m) => {
    const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(m[1]!)?.[1];
    return {
      x: Number(attr("x")),
      y: Number(attr("y")),
      width: Number(attr("width")),
      height: Number(attr("height")),
      ...(attr("data-step") === undefined ? {} : { step: attr("data-step") }),
    };
  });
}

const close = (a: number, b: number, msg: string) => assert.ok(Math.abs(a - b) < 0.02, msg);

describe("renderTimeline", () => {
  it("draws one bar per step, top to bottom in the order the steps started", () => {
    const r = sampleReport();
    const shuffled = {
      ...r,
      steps: [
        r.steps[3]!,
        r.steps[0]!,
        r.steps[6]!,
        ...r.steps.slice(1, 3),
        r.steps[5]!,
        r.steps[4]!,
      ],
    };
    const bars = rects(renderTimeline([{ report: shuffled }]), "step");
    assert.deepEqual(
      bars.map((b) => b.step),
      r.steps.map((s) => s.name),
    );
    for (let i = 1; i < bars.length; i++) {
      assert.ok(bars[i]!.y > bars[i - 1]!.y, `${bars[i]!.step} below ${bars[i - 1]!.step}`);
      assert.ok(bars[i]!.x >= bars[i - 1]!.x, `${bars[i]!.step} starts no earlier`);
    }
  });

  it("puts bars on the time axis: x from the start, width from the duration", () => {
    const bars = rects(renderTimeline([{ report: sampleReport() }]), "step");
    const pxPerSecond = bars.find((b) => b.step === "preflight")!.width / 2;
    const origin = bars[0]!.x;
    close(bars.find((b) => b.step === "migrations-up")!.x, origin + 4.5 * pxPerSecond, "x");
    close(bars.find((b) => b.step === "migrations-up")!.width, 1.5 * pxPerSecond, "width");
  });

  it("shades the outage where it was measured, across every lane of the run", () => {
    const svg = renderTimeline([{ report: sampleReport() }]);
    const bars = rects(svg, "step");
    const [outage, ...more] = rects(svg, "outage");
    assert.ok(outage, "an outage rectangle");
    assert.equal(more.length, 0);
    const pxPerSecond = bars[0]!.width / 2;
    close(outage.x, bars[0]!.x + 2.5 * pxPerSecond, "starts at 2.5 s");
    close(outage.width, 5.5 * pxPerSecond, "lasts 5.5 s");
    assert.ok(
      outage.y <= bars[0]!.y && outage.y + outage.height >= bars.at(-1)!.y + bars.at(-1)!.height,
    );
    assert.match(svg, />outage 5\.5s</);
  });

  it("without the measured interval, shades downtimeSeconds from the start of stop", () => {
    const older: UpgradeReport = { ...sampleReport() };
    delete (older as { outage?: unknown }).outage;
    const svg = renderTimeline([{ report: older }]);
    const bars = rects(svg, "step");
    const [outage] = rects(svg, "outage");
    close(outage!.x, bars.find((b) => b.step === "stop")!.x, "from stop");
    close(outage!.width, (5.5 * bars[0]!.width) / 2, "5.5 s");
  });

  it("an install has no outage to shade", () => {
    const r = sampleReport({
      kind: "install",
      from: undefined,
      steps: [step("bootstrap", 0, 3), step("start", 3, 4), step("verify", 4, 5)],
      downtimeSeconds: 0,
      outage: undefined,
      backup: undefined,
    });
    const svg = renderTimeline([{ report: r }]);
    assert.equal(rects(svg, "outage").length, 0);
    assert.match(svg, /Kong \(new\) → 3\.6\.0: install, succeeded/);
  });

  it("draws estimates end to end in the plan's order, with both numbers per step", () => {
    const estimate: TimelineEstimate = {
      steps: {
        preflight: { lowSeconds: 1, expectedSeconds: 4, highSeconds: 8 },
        stop: { lowSeconds: 1, expectedSeconds: 2, highSeconds: 4 },
      },
      downtime: { lowSeconds: 4, expectedSeconds: 6, highSeconds: 10 },
    };
    const svg = renderTimeline([{ report: sampleReport(), estimate }]);
    const bars = rects(svg, "step");
    const est = rects(svg, "estimate");
    assert.equal(est.length, 2);
    const pxPerSecond = bars[0]!.width / 2;
    close(est[0]!.x, bars[0]!.x, "planned preflight starts at 0");
    close(est[0]!.width, 4 * pxPerSecond, "4 s expected");
    close(est[1]!.x, bars[0]!.x + 4 * pxPerSecond, "planned stop after planned preflight");
    assert.match(svg, />2s · est\. 4s</);
    assert.match(svg, /outage 5\.5s measured · 6s expected \(4s – 10s\) planned/);
    assert.equal(rects(renderTimeline([{ report: sampleReport() }]), "estimate").length, 0);
  });

  it("a step the plan does not list keeps its measured length in the plan's timeline", () => {
    const estimate: TimelineEstimate = {
      steps: { stop: { lowSeconds: 1, expectedSeconds: 3, highSeconds: 4 } },
    };
    const svg = renderTimeline([{ report: sampleReport(), estimate }]);
    const bars = rects(svg, "step");
    const [est] = rects(svg, "estimate");
    close(
      est!.x,
      bars.find((b) => b.step === "stop")!.x,
      "planned stop after the measured 2 s preflight",
    );
  });

  it("names the backup (and the restored one) in the run's heading", () => {
    const svg = renderTimeline([
      {
        report: sampleReport({
          kind: "rollback",
          from: "3.6.0",
          to: "3.5.0",
          restored: { id: "restored-1", path: "/b/r.dump", sha256: "cd", bytes: 3 },
        }),
      },
    ]);
    assert.match(svg, /backup kong-3\.5\.0-to-3\.6\.0-20240601T020003Z · restored restored-1/);
  });

  it("several runs share one axis: equal durations, equal widths", () => {
    const slow = sampleReport({ steps: [step("preflight", 0, 2), step("stop", 2, 40)] });
    const svg = renderTimeline([
      { report: sampleReport(), label: "in-place" },
      { report: slow, label: "slow" },
    ]);
    const bars = rects(svg, "step");
    assert.equal(bars.length, 9);
    close(bars[0]!.width, bars[7]!.width, "both preflights are 2 s wide");
    assert.ok(bars[8]!.width > 10 * bars[0]!.width, "the 38 s stop is wider");
    assert.ok(svg.indexOf(">in-place<") < svg.indexOf(">slow<"));
    assert.equal(rects(svg, "outage").length, 2);
  });

  it("escapes every text it draws", () => {
    const evil = `<script>alert("x")</script> & 'q'`;
    const svg = renderTimeline(
      [
        {
          report: sampleReport({ steps: [step(evil, 0, 1)], to: "3.6.0<b>" }),
          label: evil,
        },
      ],
      evil,
    );
    assert.doesNotMatch(svg, /<script>|<b>/);
    assert.ok(svg.includes(escapeXml(evil)));
    assert.equal(
      escapeXml(`<a href="x">'&'</a>`),
      "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;",
    );
    // Every tag opened is closed: nothing the text carried became markup.
    const opened = (svg.match(/<(?!\/)[a-z]+[^>]*[^/]>/g) ?? []).length;
    const closed = (svg.match(/<\/[a-z]+>/g) ?? []).length;
    assert.equal(opened, closed);
  });

  it("is deterministic", () => {
    const input = [{ report: sampleReport() }];
    assert.equal(renderTimeline(input), renderTimeline(input));
  });
});

describe("estimateFromPlan", () => {
  it("takes each step's range and the planned downtime from the planner", () => {
    const plan = planChange(request("3.5.0", "3.6.0"));
    const e = estimateFromPlan(plan);
    assert.deepEqual(
      Object.keys(e.steps),
      plan.steps.map((s) => s.name),
    );
    assert.equal(
      e.steps.stop?.expectedSeconds,
      plan.steps.find((s) => s.name === "stop")!.estimate.expectedSeconds,
    );
    assert.equal(e.downtime?.expectedSeconds, plan.downtime.expectedSeconds);
    assert.equal(estimateFromPlan(planChange(request(undefined, "3.6.0"))).downtime, undefined);
  });
});
