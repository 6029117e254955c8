/**
 * The timeline as people see it: Debian's chromium renders the SVG to a PNG, and the pixels say
 * it is not blank, the bars are drawn in their colour and the outage is shaded. The SVG carries
 * the step names as text (what a browser's find, a screen reader and this test read).
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { planChange } from "../../components/plan";
import { estimateFromPlan, renderTimeline } from "../../components/report/timeline";
import { decodePng, Image, pixelAt, screenshot } from "../support/browser";
import { request } from "../plan/helpers";
import { sampleReport } from "./fixtures";

/** How many pixels are within `tolerance` of `rgb`. */
function count(img: Image, rgb: [number, number, number], tolerance = 12): number {
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const [r, g, b] = pixelAt(img, x, y);
      if (
        Math.abs(r - rgb[0]) <= tolerance &&
        Math.abs(g - rgb[1]) <= tolerance &&
        Math.abs(b - rgb[2]) <= tolerance
      ) {
        n++;
      }
    }
  }
  return n;
}

describe("the timeline in a real browser (chromium)", { timeout: 180_000 }, () => {
  it("renders bars, the shaded outage and the step names", () => {
    const dir = mkdtempSync(join(tmpdir(), "kong-gw-svg-"));
    const report = sampleReport();
    const svg = renderTimeline([
      { report, estimate: estimateFromPlan(planChange(request("3.5.0", "3.6.0"))) },
    ]);
    for (const s of report.steps) {
      assert.ok(svg.includes(`>${s.name}</text>`), `step ${s.name} as text`);
    }
    writeFileSync(join(dir, "timeline.svg"), svg);
    const png = join(dir, "timeline.png");
    const height = Number(/height="(\d+)"/.exec(svg)![1]);
    screenshot(join(dir, "timeline.svg"), png, 1000, height);
    const img = decodePng(png);
    assert.equal(img.width, 1000);
    const total = img.width * img.height;
    const white = count(img, [255, 255, 255], 3);
    assert.ok(
      total - white > total * 0.02,
      `only ${total - white} of ${total} pixels are not white`,
    );
    // The measured bars' blue (#1f6fb2): 7 bars of at least 2 × 12 px each.
    assert.ok(count(img, [0x1f, 0x6f, 0xb2]) > 7 * 24, "measured bars are drawn");
    // The outage: #d93025 at 14% over white ≈ (249, 224, 223).
    assert.ok(count(img, [249, 224, 223], 8) > 2000, "the outage is shaded");
  });
});
