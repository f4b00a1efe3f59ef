import type { Affine } from './image-ops.js';

export interface Point {
  x: number;
  y: number;
}

/** The ArcFace 112x112 five-point template: eye (image left), eye (image right), nose tip, mouth corners. */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

export interface Similarity {
  /** dst = scale * R(angle) * src + (tx, ty) */
  scale: number;
  angle: number;
  tx: number;
  ty: number;
}

/**
 * Least-squares similarity (rotation, uniform scale, translation) taking `src` onto `dst` (Umeyama 1991 in 2-D,
 * where the rotation has a closed form and a reflection cannot arise).
 */
export function fitSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  if (src.length !== dst.length || src.length < 2) throw new RangeError('fitSimilarity needs two equally long lists of at least 2 points');
  const n = src.length;
  const mean = (pts: readonly Point[]): Point => ({ x: pts.reduce((s, p) => s + p.x, 0) / n, y: pts.reduce((s, p) => s + p.y, 0) / n });
  const ms = mean(src);
  const md = mean(dst);
  let dot = 0;
  let cross = 0;
  let varSrc = 0;
  for (let i = 0; i < n; i++) {
    const sx = src[i]!.x - ms.x;
    const sy = src[i]!.y - ms.y;
    const dx = dst[i]!.x - md.x;
    const dy = dst[i]!.y - md.y;
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
    varSrc += sx * sx + sy * sy;
  }
  if (varSrc === 0) throw new RangeError('fitSimilarity: source points coincide');
  const scale = Math.hypot(dot, cross) / varSrc;
  const angle = Math.atan2(cross, dot);
  const cos = scale * Math.cos(angle);
  const sin = scale * Math.sin(angle);
  return { scale, angle, tx: md.x - (cos * ms.x - sin * ms.y), ty: md.y - (sin * ms.x + cos * ms.y) };
}

export function applySimilarity(t: Similarity, p: Point): Point {
  const cos = t.scale * Math.cos(t.angle);
  const sin = t.scale * Math.sin(t.angle);
  return { x: cos * p.x - sin * p.y + t.tx, y: sin * p.x + cos * p.y + t.ty };
}

/** The sampler's map for a warp by `t`: each output (template) pixel reads the source at the inverse of `t`. */
export function inverseAffine(t: Similarity): Affine {
  const cos = Math.cos(-t.angle) / t.scale;
  const sin = Math.sin(-t.angle) / t.scale;
  // src = R(-angle)/scale * (dst - t)
  return [cos, -sin, -(cos * t.tx - sin * t.ty), sin, cos, -(sin * t.tx + cos * t.ty)];
}
