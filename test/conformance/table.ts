/**
 * The kit's report: a table (row, expected, seen, ok), a summary line, and for every row that
 * differs the full expected and seen texts, which is what a bug report needs.
 */
import type { Result } from "./kit";

const WIDTH = { expected: 60, seen: 60 };

function cell(text: string, width: number): string {
  const t = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return t.padEnd(width);
}

/** The table, one line per row. */
export function renderTable(results: readonly Result[]): string {
  const w = {
    row: Math.max(3, ...results.map((r) => r.row.length)),
    expected: Math.min(WIDTH.expected, Math.max(8, ...results.map((r) => r.expected.length))),
    seen: Math.min(WIDTH.seen, Math.max(4, ...results.map((r) => r.seen.length))),
  };
  const line = (a: string, b: string, c: string, d: string) =>
    `${cell(a, w.row)}  ${cell(b, w.expected)}  ${cell(c, w.seen)}  ${d}`.trimEnd();
  return [
    line("row", "expected", "seen", "ok"),
    line("-".repeat(w.row), "-".repeat(w.expected), "-".repeat(w.seen), "----"),
    ...results.map((r) => line(r.row, r.expected, r.seen, r.status)),
  ].join("\n");
}

/** `47 ok, 1 FAIL, 9 skipped; 3 rows do not apply to Kong 3.6.1`. */
export function renderSummary(
  results: readonly Result[],
  notApplicable: number,
  version: string,
): string {
  const n = (s: Result["status"]) => results.filter((r) => r.status === s).length;
  return `${n("ok")} ok, ${n("FAIL")} FAIL, ${n("skip")} skipped; ${notApplicable} rows do not apply to Kong ${version}`;
}

/** Expected and seen in full for each failing row (empty when all passed). */
export function renderDetails(results: readonly Result[]): string {
  const failed = results.filter((r) => r.status === "FAIL");
  if (failed.length === 0) {
    return "";
  }
  const parts = ["Rows that differ:"];
  for (const r of failed) {
    parts.push(`\n* ${r.row}\n  expected: ${r.expected}\n  seen:     ${r.seen}`);
    for (const d of r.details) {
      parts.push(`  - ${d}`);
    }
  }
  return parts.join("\n");
}
