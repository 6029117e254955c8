/**
 * A real headless browser for tests that must see what people see: Debian's chromium renders a
 * file to a PNG, and a small PNG decoder (node:zlib, no dependency) reads the pixels back.
 * scripts/setup.sh installs chromium when it is missing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";

/** The chromium executable, or undefined when it is not installed. */
export function chromiumPath(): string | undefined {
  return ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
}

/**
 * Renders `file` (an SVG, HTML, …) with headless chromium into `png` at `width`×`height`. A fresh
 * profile directory per call, and nothing that reaches the network.
 */
export function screenshot(file: string, png: string, width: number, height: number): void {
  const chromium = chromiumPath();
  if (chromium === undefined) {
    throw new Error("chromium is not installed: run 'npm run setup' (apt-get install chromium)");
  }
  const profile = mkdtempSync(join(tmpdir(), "kong-gw-chromium-"));
  try {
    const r = spawnSync(
      chromium,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        `--screenshot=${png}`,
        `--window-size=${width},${height}`,
        `file://${file}`,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    if (r.status !== 0 || !existsSync(png)) {
      throw new Error(`chromium exited ${r.status}: ${r.stderr.slice(-2000)}`);
    }
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A decoded image: `pixels` holds RGBA, 4 bytes per pixel, row by row. */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/**
 * Decodes an 8-bit, non-interlaced PNG (greyscale, RGB or RGBA, with or without alpha: what
 * chromium writes) into RGBA pixels. Throws on anything else, so a test never reads garbage.
 */
export function decodePng(file: string): Image {
  const buf = readFileSync(file);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) {
    throw new Error(`${file} is not a PNG`);
  }
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < buf.length;) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      const byColour: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
      channels = byColour[colour ?? -1] ?? 0;
      if (depth !== 8 || channels === 0 || interlace !== 0) {
        throw new Error(`${file}: unsupported PNG (depth ${depth}, colour ${colour})`);
      }
    } else if (type === "IDAT") {
      idat.push(data);
    }
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const rows = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? rows[y * stride + i - channels]! : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= channels ? rows[(y - 1) * stride + i - channels]! : 0;
      const x = line[i]!;
      let v: number;
      switch (filter) {
        case 0:
          v = x;
          break;
        case 1:
          v = x + a;
          break;
        case 2:
          v = x + b;
          break;
        case 3:
          v = x + ((a + b) >> 1);
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new Error(`${file}: bad filter ${filter} on row ${y}`);
      }
      rows[y * stride + i] = v & 0xff;
    }
  }
  const pixels = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const px = rows.subarray(p * channels, (p + 1) * channels);
    const [r, g, b, alpha] =
      channels === 1
        ? [px[0]!, px[0]!, px[0]!, 255]
        : channels === 2
          ? [px[0]!, px[0]!, px[0]!, px[1]!]
          : [px[0]!, px[1]!, px[2]!, channels === 4 ? px[3]! : 255];
    pixels.set([r, g, b, alpha], p * 4);
  }
  return { width, height, pixels };
}

/** The RGBA of pixel (x, y). */
export function pixelAt(img: Image, x: number, y: number): [number, number, number, number] {
  const i = (y * img.width + x) * 4;
  const p = img.pixels;
  return [p[i]!, p[i + 1]!, p[i + 2]!, p[i + 3]!];
}
