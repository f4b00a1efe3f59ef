/**
 * The simulated printer's core: ESC/POS bytes to page images. `layoutEscPos` interprets the bytes (pure, bounded by
 * the input length, so it cannot hang); `renderEscPos` draws the laid-out pages to PNG with sharp. QR codes sent
 * as GS ( k commands are encoded the way the printer's own engine would (qr-symbol.ts), so a phone or a scanner
 * can read them off the PNG.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { KioskError } from '@kiosk/common';
import { ESC, GS, LF, type Alignment, type QrErrorLevel, type RasterImage } from './escpos-encoder.js';
import { qrSymbol } from './qr-symbol.js';
import { escapeXml } from './text-raster.js';

export interface RenderOptions {
  /** Printable width in dots: 576 for 80 mm paper, 384 for 58 mm. */
  paperWidthDots: number;
  /** Longest page accepted, in dots; longer input is rejected rather than drawn (default 20000, about 2.5 m). */
  maxPageDots?: number;
}

export interface TextRun {
  text: string;
  bold: boolean;
  widthScale: number;
  heightScale: number;
}

export type PageItem =
  | { kind: 'text'; left: number; top: number; run: TextRun }
  | { kind: 'raster'; left: number; top: number; image: RasterImage; scaleX: number; scaleY: number }
  /** A QR symbol: `image` has one dot per module (quiet zone included), printed `moduleSize` dots per module. */
  | { kind: 'qr'; left: number; top: number; side: number; data: string; moduleSize: number; image: RasterImage };

export interface LaidOutPage {
  height: number;
  items: PageItem[];
  /** ESC/GS/FS commands that were not recognised and skipped (their parameters, if any, print as text). */
  unknownCommands: number;
  /** QR print commands whose stored data fits no QR symbol at the selected level; printers print nothing for them. */
  unprintableQr: number;
}

/** Font A of Epson printers: 12 x 24 dots per character, 30-dot default line spacing. */
const CHAR_WIDTH = 12;
const CHAR_HEIGHT = 24;
const DEFAULT_LINE_SPACING = 30;
const DEFAULT_MAX_PAGE_DOTS = 20_000;
/** Narrower than a QR symbol's smallest side, or wider than any receipt printer, is a configuration mistake. */
const MIN_PAPER_DOTS = 48;
const MAX_PAPER_DOTS = 2048;
const FS = 0x1c;
const DLE = 0x10;

const QR_LEVELS: Record<number, QrErrorLevel> = { 48: 'L', 49: 'M', 50: 'Q', 51: 'H' };

/** Parameter byte counts of fixed-length commands we do not act on, so skipping them keeps the stream in step. */
const ESC_FIXED_PARAMS: Record<number, number> = {
  0x20: 1, 0x21: 1, 0x24: 2, 0x25: 1, 0x2d: 1, 0x3c: 0, 0x3d: 1, 0x3f: 1, 0x47: 1, 0x4c: 0, 0x4d: 1, 0x52: 1,
  0x53: 0, 0x54: 1, 0x55: 1, 0x56: 1, 0x57: 8, 0x5c: 2, 0x63: 2, 0x65: 1, 0x70: 3, 0x72: 1, 0x74: 1, 0x7b: 1,
};
const GS_FIXED_PARAMS: Record<number, number> = {
  0x24: 2, 0x2f: 1, 0x42: 1, 0x48: 1, 0x49: 1, 0x4c: 2, 0x50: 2, 0x57: 2, 0x5c: 2, 0x5e: 3, 0x61: 1, 0x62: 1,
  0x66: 1, 0x68: 1, 0x72: 1, 0x77: 1,
};
const FS_FIXED_PARAMS: Record<number, number> = { 0x21: 1, 0x26: 0, 0x2d: 1, 0x2e: 0, 0x43: 1, 0x53: 2, 0x57: 1, 0x70: 2 };
const DLE_FIXED_PARAMS: Record<number, number> = { 0x04: 1, 0x05: 1, 0x14: 3 };

function malformed(reason: string, offset: number): KioskError {
  return new KioskError('ESCPOS_MALFORMED', `ESC/POS input is malformed: ${reason} at byte ${offset}`, { details: { device: 'printer', offset } });
}

/**
 * Interprets ESC/POS into pages (a cut ends a page). Throws KioskError ESCPOS_MALFORMED on truncated commands
 * and pages longer than `maxPageDots`, USAGE on a paper width no printer has.
 */
export function layoutEscPos(bytes: Uint8Array, options: RenderOptions): LaidOutPage[] {
  const width = options.paperWidthDots;
  if (!Number.isInteger(width) || width < MIN_PAPER_DOTS || width > MAX_PAPER_DOTS) {
    throw new KioskError('USAGE', `paper width must be ${MIN_PAPER_DOTS}..${MAX_PAPER_DOTS} dots`, { details: { device: 'printer', paperWidthDots: width } });
  }
  const maxPage = options.maxPageDots ?? DEFAULT_MAX_PAGE_DOTS;
  const pages: LaidOutPage[] = [];
  let page: LaidOutPage = { height: 0, items: [], unknownCommands: 0, unprintableQr: 0 };
  let y = 0;
  let alignment: Alignment = 'left';
  let isBold = false;
  let widthScale = 1;
  let heightScale = 1;
  let lineSpacing = DEFAULT_LINE_SPACING;
  let qr = { moduleSize: 3, level: 'L' as QrErrorLevel, data: undefined as Uint8Array | undefined };
  let line: TextRun[] = [];
  let pos = 0;

  const need = (count: number): void => {
    if (pos + count > bytes.length) throw malformed('command parameters run past the end', pos);
  };
  const byteAt = (offset: number): number => bytes[offset] ?? 0;
  const lineWidth = (): number => line.reduce((sum, run) => sum + run.text.length * CHAR_WIDTH * run.widthScale, 0);
  const leftFor = (itemWidth: number): number =>
    Math.max(0, alignment === 'left' ? 0 : alignment === 'center' ? Math.floor((width - itemWidth) / 2) : width - itemWidth);
  const advance = (dots: number): void => {
    y += dots;
    if (y > maxPage) throw malformed(`page longer than ${maxPage} dots`, pos);
  };

  /** Prints the buffered line, then feeds `feedDots` (at least the line's own height when it has text). */
  const printLine = (feedDots: number): void => {
    if (line.length > 0) {
      const lineHeight = Math.max(...line.map((run) => CHAR_HEIGHT * run.heightScale));
      let left = leftFor(lineWidth());
      for (const run of line) {
        page.items.push({ kind: 'text', left, top: y + lineHeight - CHAR_HEIGHT * run.heightScale, run });
        left += run.text.length * CHAR_WIDTH * run.widthScale;
      }
      line = [];
      advance(Math.max(lineHeight, feedDots));
    } else {
      advance(feedDots);
    }
  };
  const addChar = (char: string): void => {
    if (line.length > 0 && lineWidth() + CHAR_WIDTH * widthScale > width) printLine(lineSpacing);
    const last = line.at(-1);
    if (last && last.bold === isBold && last.widthScale === widthScale && last.heightScale === heightScale) last.text += char;
    else line.push({ text: char, bold: isBold, widthScale, heightScale });
  };
  const placeBlock = (itemWidth: number, itemHeight: number): { left: number; top: number } => {
    if (line.length > 0) printLine(0);
    const at = { left: leftFor(itemWidth), top: y };
    advance(itemHeight);
    return at;
  };
  const endPage = (): void => {
    if (line.length > 0) printLine(0);
    if (page.items.length > 0 || y > 0) pages.push({ ...page, height: y });
    page = { height: 0, items: [], unknownCommands: 0, unprintableQr: 0 };
    y = 0;
  };
  const skipFixed = (table: Record<number, number>, fn: number, start: number): void => {
    const params = table[fn];
    if (params === undefined) {
      page.unknownCommands++;
      return;
    }
    pos = start;
    need(params);
    pos += params;
  };

  const handleEsc = (): void => {
    need(2);
    const fn = byteAt(pos + 1);
    const p = pos + 2;
    pos = p;
    switch (fn) {
      case 0x40: // ESC @
        alignment = 'left';
        isBold = false;
        widthScale = 1;
        heightScale = 1;
        lineSpacing = DEFAULT_LINE_SPACING;
        qr = { moduleSize: 3, level: 'L', data: undefined };
        return;
      case 0x61: {
        need(1);
        const n = byteAt(p) >= 0x30 ? byteAt(p) - 0x30 : byteAt(p); // 0..2 and '0'..'2' select the same justification
        if (n <= 2) alignment = (['left', 'center', 'right'] as const)[n]!;
        pos = p + 1;
        return;
      }
      case 0x45:
        need(1);
        isBold = (byteAt(p) & 1) === 1;
        pos = p + 1;
        return;
      case 0x32:
        lineSpacing = DEFAULT_LINE_SPACING;
        return;
      case 0x33:
        need(1);
        lineSpacing = byteAt(p);
        pos = p + 1;
        return;
      case 0x64:
        need(1);
        pos = p + 1;
        printLine(byteAt(p) * lineSpacing);
        return;
      case 0x4a:
        need(1);
        pos = p + 1;
        printLine(byteAt(p));
        return;
      case 0x69: // ESC i / ESC m: legacy full / partial cut
      case 0x6d:
        endPage();
        return;
      case 0x2a: {
        need(3); // ESC * m nL nH: column bit image, 1 or 3 bytes per column
        const columns = byteAt(p + 1) | (byteAt(p + 2) << 8);
        pos = p + 3;
        const dataBytes = columns * (byteAt(p) >= 32 ? 3 : 1);
        need(dataBytes);
        pos += dataBytes;
        page.unknownCommands++;
        return;
      }
      case 0x44: {
        // ESC D n1..nk NUL: tab stops, at most 32
        const end = bytes.subarray(p, p + 33).indexOf(0);
        if (end === -1) {
          if (p + 33 > bytes.length) throw malformed('ESC D without its NUL terminator', p);
          pos = p + 33;
        } else {
          pos = p + end + 1;
        }
        return;
      }
      default:
        skipFixed(ESC_FIXED_PARAMS, fn, p);
    }
  };

  const handleQr = (start: number, length: number): void => {
    const cn = byteAt(start);
    const fn = byteAt(start + 1);
    if (cn !== 49 || length < 2) return;
    if (fn === 67 && length >= 3) qr.moduleSize = Math.min(16, Math.max(1, byteAt(start + 2)));
    else if (fn === 69 && length >= 3) qr.level = QR_LEVELS[byteAt(start + 2)] ?? qr.level;
    else if (fn === 80 && length >= 3) qr.data = bytes.slice(start + 3, start + length);
    else if (fn === 81 && qr.data !== undefined) {
      const image = qrSymbol(qr.data, qr.level);
      if (!image) {
        page.unprintableQr++;
        return;
      }
      const side = image.width * qr.moduleSize;
      const at = placeBlock(side, side);
      page.items.push({ kind: 'qr', ...at, side, data: Buffer.from(qr.data).toString('utf8'), moduleSize: qr.moduleSize, image });
    }
  };

  const handleGs = (): void => {
    need(2);
    const fn = byteAt(pos + 1);
    const p = pos + 2;
    pos = p;
    switch (fn) {
      case 0x21:
        need(1);
        widthScale = ((byteAt(p) >> 4) & 7) + 1;
        heightScale = (byteAt(p) & 7) + 1;
        pos = p + 1;
        return;
      case 0x56: {
        need(1);
        const m = byteAt(p);
        const feeds = m === 65 || m === 66 || m === 97 || m === 98 || m === 103 || m === 104;
        if (feeds) need(2);
        pos = p + (feeds ? 2 : 1);
        if (feeds) printLine(byteAt(p + 1));
        endPage();
        return;
      }
      case 0x76: {
        need(6); // GS v 0 m xL xH yL yH
        if (byteAt(p) !== 0x30) throw malformed('GS v without 0', p);
        const m = byteAt(p + 1) & 0x0f;
        const rowBytes = byteAt(p + 2) | (byteAt(p + 3) << 8);
        const rows = byteAt(p + 4) | (byteAt(p + 5) << 8);
        pos = p + 6;
        need(rowBytes * rows);
        const bits = bytes.subarray(pos, pos + rowBytes * rows);
        pos += rowBytes * rows;
        if (rowBytes > 0 && rows > 0) {
          const scaleX = m & 1 ? 2 : 1;
          const scaleY = m & 2 ? 2 : 1;
          const at = placeBlock(rowBytes * 8 * scaleX, rows * scaleY);
          page.items.push({ kind: 'raster', ...at, image: { width: rowBytes * 8, height: rows, bits }, scaleX, scaleY });
        }
        return;
      }
      case 0x28: {
        need(3); // GS ( x pL pH ...: every GS ( function carries its own length
        const length = byteAt(p + 1) | (byteAt(p + 2) << 8);
        pos = p + 3;
        need(length);
        if (byteAt(p) === 0x6b) handleQr(pos, length);
        pos += length;
        return;
      }
      case 0x38: {
        need(5); // GS 8 x p1 p2 p3 p4 ...: 32-bit length
        const length = byteAt(p + 1) + byteAt(p + 2) * 2 ** 8 + byteAt(p + 3) * 2 ** 16 + byteAt(p + 4) * 2 ** 24;
        pos = p + 5;
        need(length);
        pos += length;
        return;
      }
      case 0x6b: {
        need(1); // GS k m: barcode, NUL-terminated (m <= 6) or with a length byte
        const m = byteAt(p);
        if (m <= 6) {
          const end = bytes.indexOf(0, p + 1);
          if (end === -1) throw malformed('GS k without its NUL terminator', p);
          pos = end + 1;
        } else {
          need(2);
          pos = p + 2;
          need(byteAt(p + 1));
          pos += byteAt(p + 1);
        }
        page.unknownCommands++;
        return;
      }
      case 0x2a: {
        need(2); // GS * x y: downloaded bit image, x * y * 8 bytes
        const dataBytes = byteAt(p) * byteAt(p + 1) * 8;
        pos = p + 2;
        need(dataBytes);
        pos += dataBytes;
        return;
      }
      default:
        skipFixed(GS_FIXED_PARAMS, fn, p);
    }
  };

  const handleFs = (): void => {
    need(2);
    const fn = byteAt(pos + 1);
    const p = pos + 2;
    pos = p;
    if (fn === 0x28) {
      need(3);
      const length = byteAt(p + 1) | (byteAt(p + 2) << 8);
      pos = p + 3;
      need(length);
      pos += length;
      return;
    }
    skipFixed(FS_FIXED_PARAMS, fn, p);
  };

  while (pos < bytes.length) {
    const b = byteAt(pos);
    if (b === ESC) handleEsc();
    else if (b === GS) handleGs();
    else if (b === FS) handleFs();
    else if (b === DLE) {
      need(2);
      pos += 2;
      skipFixed(DLE_FIXED_PARAMS, byteAt(pos - 1), pos);
    } else {
      pos++;
      if (b === LF) printLine(lineSpacing);
      else if (b === 0x09) addChar(' ');
      // Bytes >= 0x80 go through a code page that differs per printer model; '?' marks them.
      else if (b >= 0x80) addChar('?');
      else if (b >= 0x20 && b <= 0x7e) addChar(String.fromCharCode(b));
    }
  }
  endPage();
  return pages;
}

/** Advance of DejaVu Sans Mono, in em. */
const MONO_ADVANCE = 0.602;

function textOverlay(run: TextRun, left: number, top: number, paperWidth: number): OverlayOptions {
  const runWidth = Math.min(run.text.length * CHAR_WIDTH * run.widthScale, paperWidth - left);
  const height = CHAR_HEIGHT * run.heightScale;
  const fontSize = 22 * run.heightScale;
  // Scaled horizontally to the printer's fixed 12-dot pitch (librsvg ignores textLength).
  const scaleX = (CHAR_WIDTH * run.widthScale) / (MONO_ADVANCE * fontSize);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${runWidth}" height="${height}">` +
    `<text transform="scale(${scaleX.toFixed(4)} 1)" x="0" y="${height * 0.8}" font-family="DejaVu Sans Mono" font-size="${fontSize}" ` +
    `font-weight="${run.bold ? 'bold' : 'normal'}" xml:space="preserve">${escapeXml(run.text)}</text></svg>`;
  return { input: Buffer.from(svg), left, top };
}

/** A 1-bit image drawn `scaleX` x `scaleY` dots per bit at (left, top), clipped at the paper edge. */
function rasterOverlay(image: RasterImage, scaleX: number, scaleY: number, left: number, top: number, paperWidth: number): OverlayOptions {
  const width = Math.min(image.width * scaleX, paperWidth - left);
  const height = image.height * scaleY;
  const rowBytes = Math.ceil(image.width / 8);
  const pixels = Buffer.alloc(width * height, 255);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / scaleY) * rowBytes;
    for (let x = 0; x < width; x++) {
      const sx = Math.floor(x / scaleX);
      if ((image.bits[row + (sx >> 3)]! & (0x80 >> (sx & 7))) !== 0) pixels[y * width + x] = 0;
    }
  }
  return { input: pixels, raw: { width, height, channels: 1 }, left, top };
}

function itemOverlay(item: PageItem, paperWidth: number): OverlayOptions {
  switch (item.kind) {
    case 'text':
      return textOverlay(item.run, item.left, item.top, paperWidth);
    case 'raster':
      return rasterOverlay(item.image, item.scaleX, item.scaleY, item.left, item.top, paperWidth);
    case 'qr':
      return rasterOverlay(item.image, item.moduleSize, item.moduleSize, item.left, item.top, paperWidth);
  }
}

/** Draws laid-out pages as greyscale PNGs, `paperWidthDots` wide. */
export async function renderPages(pages: readonly LaidOutPage[], paperWidthDots: number): Promise<Buffer[]> {
  return Promise.all(
    pages.map((page) => {
      const overlays = page.items
        .filter((item) => item.left < paperWidthDots)
        .map((item) => itemOverlay(item, paperWidthDots));
      return sharp({ create: { width: paperWidthDots, height: Math.max(1, page.height), channels: 3, background: '#fff' } })
        .composite(overlays)
        .greyscale()
        .png()
        .toBuffer();
    }),
  );
}

/** ESC/POS bytes to one PNG per page. */
export async function renderEscPos(bytes: Uint8Array, options: RenderOptions): Promise<Buffer[]> {
  return renderPages(layoutEscPos(bytes, options), options.paperWidthDots);
}
