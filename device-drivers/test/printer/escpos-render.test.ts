import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import sharp from 'sharp';
import { isKioskError } from '@kiosk/common';
import { align, bold, cut, initialize, lineFeed, qrCode, rasterImage, text, textSize } from '../../src/printer/escpos-encoder.js';
import { concatBytes } from '../../src/encoding/bytes.js';
import { layoutEscPos, renderEscPos } from '../../src/printer/escpos-render.js';

const paper = { paperWidthDots: 384 };

async function greyPixels(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe('ESC/POS interpreter layout', () => {
  it('lays out text runs with alignment, bold and size, one line per LF', () => {
    const bytes = concatBytes(initialize(), align('center'), bold(true), text('AB'), bold(false), textSize(2, 2), text('C'), lineFeed(), text('x'), lineFeed());
    const [page] = layoutEscPos(bytes, paper);
    expect(page!.items).toEqual([
      // Line width 2 * 12 + 24 = 48, centred on 384; runs share the line's bottom edge.
      { kind: 'text', left: 168, top: 24, run: { text: 'AB', bold: true, widthScale: 1, heightScale: 1 } },
      { kind: 'text', left: 192, top: 0, run: { text: 'C', bold: false, widthScale: 2, heightScale: 2 } },
      { kind: 'text', left: 180, top: 48, run: { text: 'x', bold: false, widthScale: 2, heightScale: 2 } },
    ]);
    expect(page!.height).toBe(96);
  });

  it('blits raster images at the aligned position and advances by their height', () => {
    const image = { width: 16, height: 5, bits: new Uint8Array(10).fill(0xff) };
    const [page] = layoutEscPos(concatBytes(align('right'), rasterImage(image), text('z'), lineFeed()), paper);
    expect(page!.items[0]).toMatchObject({ kind: 'raster', left: 368, top: 0, scaleX: 1, scaleY: 1 });
    expect(page!.items[1]).toMatchObject({ kind: 'text', top: 5 });
  });

  it('places a QR symbol sized from the data, module size and quiet zone', () => {
    const [page] = layoutEscPos(concatBytes(align('center'), qrCode('Q-1', { moduleSize: 4, errorLevel: 'M' })), paper);
    // 3 bytes at level M fit version 1: 21 modules + 8 quiet = 29 modules of 4 dots.
    expect(page!.items).toEqual([expect.objectContaining({ kind: 'qr', left: 134, top: 0, side: 116, data: 'Q-1', moduleSize: 4 })]);
    expect(page!.items[0]).toMatchObject({ image: { width: 29, height: 29 } });
    // 100 bytes need version 5 (37 modules) at level L and version 6 (41) at M: the selected level is used.
    const side = (level: 'L' | 'M'): number => (layoutEscPos(qrCode('x'.repeat(100), { moduleSize: 1, errorLevel: level }), paper)[0]!.items[0] as { side: number }).side;
    expect([side('L'), side('M')]).toEqual([37 + 8, 41 + 8]);
  });

  it('prints nothing for a QR whose data fits no symbol, as printers do, and counts it', () => {
    const [page] = layoutEscPos(concatBytes(qrCode('x'.repeat(3000), { moduleSize: 1, errorLevel: 'L' }), text('after'), lineFeed()), paper);
    expect(page!.unprintableQr).toBe(1);
    expect(page!.items.map((item) => item.kind)).toEqual(['text']);
  });

  it('ends a page at each cut', () => {
    const pages = layoutEscPos(concatBytes(text('one'), lineFeed(), cut(), text('two'), lineFeed(), cut({ partial: true, feedDots: 20 })), paper);
    expect(pages).toHaveLength(2);
    expect(pages[1]!.height).toBe(30 + 20);
  });

  it('skips unknown commands with their known parameter lengths', () => {
    // ESC t 16 (code table), GS H 2 (HRI position), ESC p 0 25 250 (drawer kick), GS ( L pL=2 pH=0 with 2 bytes.
    const bytes = concatBytes(Uint8Array.of(0x1b, 0x74, 0x41, 0x1d, 0x48, 0x42, 0x1b, 0x70, 0x43, 0x44, 0x45, 0x1d, 0x28, 0x4c, 2, 0, 0x46, 0x47), text('ok'), lineFeed());
    const [page] = layoutEscPos(bytes, paper);
    expect(page!.items).toEqual([expect.objectContaining({ run: expect.objectContaining({ text: 'ok' }) as unknown })]);
    expect(page!.unknownCommands).toBe(0);
  });

  it('counts commands it does not know and goes on', () => {
    const [page] = layoutEscPos(Uint8Array.of(0x1b, 0x01, 0x41, 0x0a), paper);
    expect(page!.unknownCommands).toBe(1);
    expect(page!.items).toHaveLength(1);
  });

  it('rejects truncated commands with a typed error', () => {
    for (const bytes of [Uint8Array.of(0x1b), Uint8Array.of(0x1d, 0x76, 0x30, 0, 2, 0, 2, 0, 1, 2, 3), Uint8Array.of(0x1d, 0x28, 0x6b, 9, 0, 0x31)]) {
      let caught: unknown;
      try {
        layoutEscPos(bytes, paper);
      } catch (err) {
        caught = err;
      }
      expect(isKioskError(caught, 'ESCPOS_MALFORMED')).toBe(true);
      expect((caught as { details: Record<string, unknown> }).details.offset).toEqual(expect.any(Number));
    }
  });

  it('rejects a paper width no printer has', () => {
    expect(() => layoutEscPos(Uint8Array.of(0x41), { paperWidthDots: 10 })).toThrow(expect.objectContaining({ code: 'USAGE' }) as Error);
  });

  it('rejects a page longer than the limit instead of allocating it', () => {
    const feeds = new Uint8Array(300).fill(0x0a);
    expect(() => layoutEscPos(feeds, { paperWidthDots: 384, maxPageDots: 1000 })).toThrow(expect.objectContaining({ code: 'ESCPOS_MALFORMED' }) as Error);
  });

  it('wraps text at the paper width like a printer', () => {
    const [page] = layoutEscPos(concatBytes(text('x'.repeat(40)), lineFeed()), paper);
    expect(page!.items.map((item) => item.top)).toEqual([0, 30]);
  });
});

describe('ESC/POS rendering to PNG', () => {
  it('draws raster bits exactly and text as ink', async () => {
    const image = { width: 8, height: 2, bits: Uint8Array.of(0xf0, 0x0f) };
    const [png] = await renderEscPos(concatBytes(rasterImage(image), text('HELLO'), lineFeed()), paper);
    const { data, width, height } = await greyPixels(png!);
    expect(width).toBe(384);
    expect(height).toBe(2 + 30);
    expect([...data.subarray(0, 8)]).toEqual([0, 0, 0, 0, 255, 255, 255, 255]);
    expect([...data.subarray(width, width + 8)]).toEqual([255, 255, 255, 255, 0, 0, 0, 0]);
    const textBand = data.subarray(2 * width, 26 * width);
    expect(textBand.filter((v) => v < 128).length).toBeGreaterThan(100);
  });

  it('answers 2000 random byte inputs (fast-check) with PNG pages or a typed error, never a crash or hang', async () => {
    let pngs = 0;
    let typedErrors = 0;
    // Random bytes, plus random bytes behind a command prefix so the command paths (not just text) are hit.
    const storedQr = [...qrCode('fuzz', { moduleSize: 2, errorLevel: 'H' })];
    const prefix = fc.constantFrom([], [0x1b], [0x1d], [0x1c], [0x10], [0x1d, 0x76, 0x30], [0x1d, 0x28, 0x6b], [0x1d, 0x56], [0x1b, 0x64], storedQr);
    const input = fc.tuple(prefix, fc.uint8Array({ maxLength: 200 })).map(([head, tail]) => Uint8Array.from([...head, ...tail]));
    await fc.assert(
      fc.asyncProperty(input, async (bytes) => {
        try {
          const pages = await renderEscPos(bytes, paper);
          for (const png of pages) expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
          pngs++;
        } catch (err) {
          if (!isKioskError(err, 'ESCPOS_MALFORMED')) throw err;
          typedErrors++;
        }
      }),
      { numRuns: 2000 },
    );
    console.log(`fuzz: 2000 inputs rendered, ${pngs} to PNG pages, ${typedErrors} typed errors`);
    expect(pngs + typedErrors).toBe(2000);
  }, 120_000);

  it('interprets 5000 larger random inputs (fast-check) without throwing anything but typed errors', () => {
    let typedErrors = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) => {
        try {
          layoutEscPos(bytes, paper);
        } catch (err) {
          if (!isKioskError(err, 'ESCPOS_MALFORMED')) throw err;
          typedErrors++;
        }
      }),
      { numRuns: 5000 },
    );
    console.log(`fuzz: 5000 layouts, ${typedErrors} typed errors`);
  });
});
