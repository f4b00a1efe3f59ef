/**
 * Vietnamese (any Unicode) text to a 1-bit raster image for GS v 0, drawn by librsvg inside sharp with Noto Sans,
 * because receipt printers cannot compose Vietnamese diacritics from their own code pages.
 */
import sharp from 'sharp';
import { rasterRowBytes, type Alignment, type RasterImage } from './escpos-encoder.js';

export interface TextLine {
  text: string;
  /** Font size in dots (203 dpi: 24 dots is about 3 mm, the printer's own font height). */
  size: number;
  bold?: boolean;
  align?: Alignment;
}

export const RASTER_FONT_FAMILY = 'Noto Sans';
/** Grey level at or below which a rendered pixel prints black; anti-aliased edges split at mid-grey. */
const BLACK_THRESHOLD = 128;
/** Line box as a multiple of font size: room for stacked Vietnamese marks above capitals (Ệ, Ở) and descenders. */
const LINE_HEIGHT = 1.4;
/** Baseline position inside the line box, leaving the top for the marks. */
const BASELINE = 1.08;

export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Rough advance widths of Noto Sans in em, on the wide side. Lines the estimate puts well inside the paper are
 * taken as they are; closer ones are measured by rendering, since librsvg ignores SVG textLength.
 */
function estimatedWidth(value: string, size: number, isBold: boolean): number {
  let em = 0;
  for (const c of value.normalize('NFC')) {
    if (c === ' ') em += 0.26;
    else if (/[A-ZĐ]/.test(c.normalize('NFD').charAt(0))) em += 0.7;
    else if (/[mwMW]/.test(c)) em += 0.88;
    else em += 0.56;
  }
  return em * size * (isBold ? 1.06 : 1);
}
const SURELY_FITS = 0.85;
/** Dots kept clear at each edge, so antialiasing at the ends of a full line is not cut. */
const EDGE_MARGIN = 4;

function textElement(line: TextLine, x: number, baseline: number, anchor: string): string {
  return (
    `<text x="${x}" y="${baseline}" font-family="${RASTER_FONT_FAMILY}" font-size="${line.size}" ` +
    `font-weight="${line.bold ? 'bold' : 'normal'}" text-anchor="${anchor}">${escapeXml(line.text)}</text>`
  );
}

/** Width of the ink of one line, measured by rendering it on a wide canvas and trimming the white. */
async function inkWidth(line: TextLine): Promise<number> {
  if (line.text.trim() === '') return 0;
  const canvas = Math.ceil(estimatedWidth(line.text, line.size, true) * 1.5 + 2 * line.size);
  const height = Math.ceil(line.size * LINE_HEIGHT);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${canvas}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>` +
    `${textElement(line, line.size, line.size * BASELINE, 'start')}</svg>`;
  const { info } = await sharp(Buffer.from(svg)).trim().toBuffer({ resolveWithObject: true });
  return info.width;
}

/**
 * Greedy word wrap to the paper width. A single word wider than the paper gets a smaller font size, so nothing
 * is ever clipped.
 */
export async function wrapLine(line: TextLine, width: number): Promise<TextLine[]> {
  const usable = width - 2 * EDGE_MARGIN;
  const fits = async (candidate: TextLine): Promise<boolean> =>
    estimatedWidth(candidate.text, candidate.size, candidate.bold ?? false) <= usable * SURELY_FITS || (await inkWidth(candidate)) <= usable;
  const words = line.text.split(/\s+/).filter((w) => w.length > 0);
  const out: TextLine[] = [];
  let current = '';
  for (const word of words) {
    const candidate = current === '' ? word : `${current} ${word}`;
    if (current !== '' && !(await fits({ ...line, text: candidate }))) {
      out.push({ ...line, text: current });
      current = word;
    } else {
      current = candidate;
    }
  }
  out.push({ ...line, text: current });
  return Promise.all(
    out.map(async (wrapped) => {
      if (await fits(wrapped)) return wrapped;
      return { ...wrapped, size: Math.floor((wrapped.size * usable) / (await inkWidth(wrapped))) };
    }),
  );
}

function svgFor(lines: readonly TextLine[], width: number, height: number): string {
  let y = 0;
  const texts = lines.map((line) => {
    const align = line.align ?? 'center';
    const x = align === 'left' ? EDGE_MARGIN : align === 'right' ? width - EDGE_MARGIN : width / 2;
    const anchor = align === 'left' ? 'start' : align === 'right' ? 'end' : 'middle';
    const baseline = y + line.size * BASELINE;
    y += Math.ceil(line.size * LINE_HEIGHT);
    return textElement(line, x, baseline, anchor);
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="#fff"/>${texts.join('')}</svg>`
  );
}

/** Renders the lines, wrapped to `width` dots, one under the other. */
export async function renderTextRaster(lines: readonly TextLine[], width: number): Promise<RasterImage> {
  const wrapped = (await Promise.all(lines.map((line) => wrapLine(line, width)))).flat();
  const height = Math.max(1, wrapped.reduce((sum, line) => sum + Math.ceil(line.size * LINE_HEIGHT), 0));
  const { data, info } = await sharp(Buffer.from(svgFor(wrapped, width, height)))
    .flatten({ background: '#fff' })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return packGreyscale(data, info.width, info.height, info.channels);
}

/** Packs 8-bit grey pixels (first channel of each pixel) into raster rows: 1 = black. */
export function packGreyscale(pixels: Uint8Array, width: number, height: number, channels = 1): RasterImage {
  const rowBytes = rasterRowBytes(width);
  const bits = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((pixels[(y * width + x) * channels] ?? 255) <= BLACK_THRESHOLD) bits[y * rowBytes + (x >> 3)]! |= 0x80 >> (x & 7);
    }
  }
  return { width, height, bits };
}
