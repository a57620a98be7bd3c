// The results as a PNG bar chart, drawn in pure JavaScript (a tiny bitmap font and node:zlib; no native builds).
import { deflateSync } from "node:zlib";

// 5x7 glyphs, one number per row, bit 4 the leftmost pixel. Lowercase letters are drawn as uppercase.
const FONT = {
  "0": [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e], "1": [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  "2": [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f], "3": [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  "4": [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02], "5": [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  "6": [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e], "7": [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  "8": [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e], "9": [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  A: [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11], B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e], D: [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f], F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f], H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e], J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11], N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e], P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d], R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e], T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e], V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a], X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04], Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  " ": [0, 0, 0, 0, 0, 0, 0], ".": [0, 0, 0, 0, 0, 0x0c, 0x0c], ",": [0, 0, 0, 0, 0x0c, 0x04, 0x08],
  ":": [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0], "-": [0, 0, 0, 0x1f, 0, 0, 0], "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
  ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08], "=": [0, 0, 0x1f, 0, 0x1f, 0, 0], "/": [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
  "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03], "+": [0, 0x04, 0x04, 0x1f, 0x04, 0x04, 0], "_": [0, 0, 0, 0, 0, 0, 0x1f],
  "<": [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02], ">": [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
  "'": [0x04, 0x04, 0x08, 0, 0, 0, 0], "*": [0, 0x04, 0x15, 0x0e, 0x15, 0x04, 0], "?": [0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
};
const SCALE = 2;
const ADVANCE = 6 * SCALE;

class Canvas {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.pixels = Buffer.alloc(width * height * 3, 255);
  }
  rect(x, y, w, h, [r, g, b]) {
    for (let yy = Math.max(0, y); yy < Math.min(this.height, y + h); yy += 1) {
      for (let xx = Math.max(0, x); xx < Math.min(this.width, x + w); xx += 1) {
        const i = (yy * this.width + xx) * 3;
        this.pixels[i] = r;
        this.pixels[i + 1] = g;
        this.pixels[i + 2] = b;
      }
    }
  }
  text(x, y, string, color = [20, 20, 20]) {
    const normalized = string.toUpperCase().replaceAll("≤", "<").replaceAll("–", "-");
    for (const [k, char] of [...normalized].entries()) {
      const glyph = FONT[char] ?? FONT["?"];
      glyph.forEach((bits, row) => {
        for (let col = 0; col < 5; col += 1) if (bits & (0x10 >> col)) this.rect(x + k * ADVANCE + col * SCALE, y + row * SCALE, SCALE, SCALE, color);
      });
    }
  }
  png() {
    const raw = Buffer.alloc((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y += 1) {
      raw[y * (this.width * 3 + 1)] = 0;
      this.pixels.copy(raw, y * (this.width * 3 + 1) + 1, y * this.width * 3, (y + 1) * this.width * 3);
    }
    const header = Buffer.alloc(13);
    header.writeUInt32BE(this.width, 0);
    header.writeUInt32BE(this.height, 4);
    header[8] = 8; // bit depth
    header[9] = 2; // truecolour RGB
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", header),
      chunk("IDAT", deflateSync(raw)),
      chunk("IEND", Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

const COLORS = { floor: [46, 139, 87], raw: [150, 150, 150], migrate: [45, 105, 200], missed: [210, 50, 50] };
const TITLES = { 1: "1. APPLY ALL", 2: "2. APPLY ONE NEW ON TOP OF N", 3: "3. STATUS, UP TO DATE", 4: "4. LINT THE HISTORY" };

/** Bars of the median per contender, one panel per scenario and N, each scaled to its own longest bar. */
export function drawChart(rows, lockImpact) {
  const panels = [];
  const seen = new Map();
  for (const row of rows) {
    const key = `${row.scenario}/${row.n}`;
    if (!seen.has(key)) {
      seen.set(key, { title: `${TITLES[row.scenario]}, N = ${row.n} (median seconds)`, bars: [] });
      panels.push(seen.get(key));
    }
    const missed = row.targets.some((t) => !t.met);
    seen.get(key).bars.push({
      label: row.label,
      value: row.median,
      text: `${row.timedOut ? "> " : ""}${row.median.toFixed(row.median < 10 ? 3 : 1)} S${row.migrate && row.targets.length ? (missed ? "  TARGET MISSED" : "  TARGET MET") : ""}`,
      color: row.baseline ? COLORS.floor : row.migrate ? (missed ? COLORS.missed : COLORS.migrate) : COLORS.raw,
    });
  }
  if (lockImpact) {
    panels.push({
      title: `5. LOCK IMPACT: LONGEST SELECT STALL (SECONDS)`,
      bars: lockImpact.results.map((r) => ({
        label: r.label,
        value: r.maxStall,
        text: `${r.maxStall.toFixed(2)} S, P99 ${(r.p99 * 1000).toFixed(0)} MS`,
        color: r.targetSeconds === undefined ? COLORS.raw : r.maxStall <= r.targetSeconds ? COLORS.migrate : COLORS.missed,
      })),
    });
  }
  const rowHeight = 22;
  const labelWidth = 40 * ADVANCE;
  const barLeft = labelWidth + 20;
  const barWidth = 520;
  const width = barLeft + barWidth + 24 * ADVANCE;
  const legendHeight = 60;
  const height = legendHeight + panels.reduce((sum, p) => sum + (p.bars.length + 2) * rowHeight, 0) + 10;
  const canvas = new Canvas(width, height);
  canvas.text(10, 10, "POLYMIGRATE BENCHMARKS: WHOLE-PROCESS WALL TIME, MEDIAN");
  let x = 10;
  for (const [name, color] of [["FLOOR (PSQL, SQUAWK)", COLORS.floor], ["RAW TOOL", COLORS.raw], ["MIGRATE", COLORS.migrate], ["MIGRATE, TARGET MISSED", COLORS.missed]]) {
    canvas.rect(x, 34, 16, 14, color);
    canvas.text(x + 22, 34, name);
    x += 22 + name.length * ADVANCE + 30;
  }
  let y = legendHeight;
  for (const panel of panels) {
    canvas.rect(0, y + rowHeight - 4, width, 1, [200, 200, 200]);
    canvas.text(10, y + 2, panel.title, [0, 0, 0]);
    y += rowHeight;
    const max = Math.max(...panel.bars.map((b) => b.value).filter(Number.isFinite), 1e-9);
    for (const bar of panel.bars) {
      canvas.text(10, y + 4, bar.label.slice(0, 40));
      const length = Number.isFinite(bar.value) ? Math.max(2, Math.round((bar.value / max) * barWidth)) : 0;
      canvas.rect(barLeft, y + 2, length, rowHeight - 6, bar.color);
      canvas.text(barLeft + length + 8, y + 4, bar.text);
      y += rowHeight;
    }
    y += rowHeight;
  }
  return canvas.png();
}
