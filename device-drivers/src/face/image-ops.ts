import type { RawImage, Rect } from '../image/raw-image.js';

/**
 * Affine sampling used for every crop the models need: output pixel (u, v) reads the source at
 * x = a*u + b*v + c, y = d*u + e*v + f (pixel centres), bilinear, black outside. One sampler serves plain crops
 * (b = d = 0) and the similarity warp of the alignment.
 */
export type Affine = readonly [a: number, b: number, c: number, d: number, e: number, f: number];

/** A sampled patch: RGB, row-major, interleaved, 0..255 as floats. */
export interface Patch {
  width: number;
  height: number;
  rgb: Float32Array;
}

export function sampleAffine(image: RawImage, width: number, height: number, m: Affine): Patch {
  const { width: w, height: h, channels: ch, data } = image;
  // Grey (and grey+alpha) images give the same value to R, G and B.
  const gOff = ch >= 3 ? 1 : 0;
  const bOff = ch >= 3 ? 2 : 0;
  const rgb = new Float32Array(width * height * 3);
  const [a, b, c, d, e, f] = m;
  let o = 0;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++, o += 3) {
      const x = a * u + b * v + c;
      const y = d * u + e * v + f;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) continue;
      const fx = x - x0;
      const fy = y - y0;
      // Taps outside the image count as black (weight applied to zero).
      const inX0 = x0 >= 0;
      const inX1 = x0 + 1 < w;
      const inY0 = y0 >= 0;
      const inY1 = y0 + 1 < h;
      const w00 = inX0 && inY0 ? (1 - fx) * (1 - fy) : 0;
      const w10 = inX1 && inY0 ? fx * (1 - fy) : 0;
      const w01 = inX0 && inY1 ? (1 - fx) * fy : 0;
      const w11 = inX1 && inY1 ? fx * fy : 0;
      const i00 = (y0 * w + x0) * ch;
      const i10 = i00 + ch;
      const i01 = i00 + w * ch;
      const i11 = i01 + ch;
      // Indices of taps outside the image are never read: their weight is 0 and `|| 0` guards undefined.
      rgb[o] = w00 * (data[i00] || 0) + w10 * (data[i10] || 0) + w01 * (data[i01] || 0) + w11 * (data[i11] || 0);
      rgb[o + 1] = w00 * (data[i00 + gOff] || 0) + w10 * (data[i10 + gOff] || 0) + w01 * (data[i01 + gOff] || 0) + w11 * (data[i11 + gOff] || 0);
      rgb[o + 2] = w00 * (data[i00 + bOff] || 0) + w10 * (data[i10 + bOff] || 0) + w01 * (data[i01 + bOff] || 0) + w11 * (data[i11 + bOff] || 0);
    }
  }
  return { width, height, rgb };
}

/** The rectangle resized to width x height (pixel-centre mapping). */
export function cropResize(image: RawImage, rect: Rect, width: number, height: number): Patch {
  const sx = rect.width / width;
  const sy = rect.height / height;
  return sampleAffine(image, width, height, [sx, 0, rect.x + 0.5 * sx - 0.5, 0, sy, rect.y + 0.5 * sy - 0.5]);
}

/** NCHW float tensor data from an RGB patch: (value - mean[c]) / std[c] per channel. */
export function toChw(patch: Patch, mean: readonly [number, number, number], std: readonly [number, number, number]): Float32Array {
  const n = patch.width * patch.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[c * n + i] = ((patch.rgb[i * 3 + c] as number) - mean[c]!) / std[c]!;
  }
  return out;
}

/** Grey (ITU-R BT.601 luma) of an RGB patch, scaled by `scale`. */
export function toGrey(patch: Patch, scale = 1): Float32Array {
  const n = patch.width * patch.height;
  const out = new Float32Array(n);
  const rgb = patch.rgb;
  for (let i = 0; i < n; i++) out[i] = (0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!) * scale;
  return out;
}

/**
 * Variance of the 4-neighbour Laplacian over a grey image, or over `region` of it: low = blurred (few sharp edges).
 */
export function laplacianVariance(grey: Float32Array, width: number, height: number, region: Rect = { x: 0, y: 0, width, height }): number {
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  const x0 = Math.max(1, region.x);
  const y0 = Math.max(1, region.y);
  const x1 = Math.min(width - 1, region.x + region.width);
  const y1 = Math.min(height - 1, region.y + region.height);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * width + x;
      const lap = grey[i - 1]! + grey[i + 1]! + grey[i - width]! + grey[i + width]! - 4 * grey[i]!;
      sum += lap;
      sumSq += lap * lap;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

export function softmax(logits: ArrayLike<number>): number[] {
  const values = Array.from(logits);
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const total = exps.reduce((s, v) => s + v, 0);
  return exps.map((v) => v / total);
}
