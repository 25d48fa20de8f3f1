// A minimal PNG line plot (RGB, deflate via node:zlib): enough to draw RSS and
// active calls over a soak without a plotting dependency.
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A canvas of RGB pixels. */
export class Canvas {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.pixels = Buffer.alloc(width * height * 3, 255);
  }
  set(x, y, [r, g, b]) {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.pixels[i] = r;
    this.pixels[i + 1] = g;
    this.pixels[i + 2] = b;
  }
  line(x0, y0, x1, y1, color) {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      this.set(x, y, color);
      this.set(x, y + 1, color);
    }
  }
  png() {
    const raw = Buffer.alloc((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 3 + 1)] = 0;
      this.pixels.copy(raw, y * (this.width * 3 + 1) + 1, y * this.width * 3, (y + 1) * this.width * 3);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  }
}

/**
 * Plot series (each {values, color}) over a shared x axis, each scaled to its
 * own range, on a grid. Returns PNG bytes.
 */
export function plot(series, { width = 800, height = 400 } = {}) {
  const c = new Canvas(width, height);
  const pad = 30;
  const grey = [220, 220, 220];
  for (let i = 0; i <= 10; i++) {
    const x = pad + ((width - 2 * pad) * i) / 10;
    c.line(x, pad, x, height - pad, grey);
    const y = pad + ((height - 2 * pad) * i) / 10;
    c.line(pad, y, width - pad, y, grey);
  }
  for (const { values, color } of series) {
    if (values.length < 2) continue;
    const max = Math.max(...values, 1);
    const toX = (i) => pad + ((width - 2 * pad) * i) / (values.length - 1);
    const toY = (v) => height - pad - ((height - 2 * pad) * v) / max;
    for (let i = 1; i < values.length; i++) c.line(toX(i - 1), toY(values[i - 1]), toX(i), toY(values[i]), color);
  }
  return c.png();
}
