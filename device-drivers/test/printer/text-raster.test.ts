import { describe, expect, it } from 'vitest';
import { escapeXml, packGreyscale, renderTextRaster, wrapLine } from '../../src/printer/text-raster.js';

function blackCount(bits: Uint8Array): number {
  let n = 0;
  for (const byte of bits) for (let b = byte; b; b &= b - 1) n++;
  return n;
}

describe('text raster', () => {
  it('packs grey pixels MSB-first, 1 = black, rows padded to whole bytes', () => {
    // 10 x 2: row 0 black at x = 0, 7, 8; row 1 black at x = 9 only; 128 counts as black.
    const grey = new Uint8Array(20).fill(255);
    grey[0] = 0;
    grey[7] = 128;
    grey[8] = 10;
    grey[19] = 0;
    grey[1] = 129;
    const image = packGreyscale(grey, 10, 2);
    expect(image).toEqual({ width: 10, height: 2, bits: Uint8Array.of(0x81, 0x80, 0x00, 0x40) });
  });

  it('reads the first channel of multi-channel pixels', () => {
    const rgb = Uint8Array.of(0, 255, 255, 255, 0, 0);
    expect([...packGreyscale(rgb, 2, 1, 3).bits]).toEqual([0x80]);
  });

  it('escapes XML so text cannot break the SVG', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&#60;a href=&#34;x&#34;&#62;&#38;&#39;');
  });

  it('renders a line at the paper width with black ink', async () => {
    const image = await renderTextRaster([{ text: 'Số thứ tự', size: 32, bold: true }], 576);
    expect(image.width).toBe(576);
    expect(image.bits.length).toBe(72 * image.height);
    expect(blackCount(image.bits)).toBeGreaterThan(500);
  });

  it('draws the Vietnamese diacritics: "Số thứ tự" differs from "So thu tu" and has more ink', async () => {
    const [vi, ascii] = await Promise.all([
      renderTextRaster([{ text: 'Số thứ tự', size: 40, bold: true }], 576),
      renderTextRaster([{ text: 'So thu tu', size: 40, bold: true }], 576),
    ]);
    expect(vi.height).toBe(ascii.height);
    expect(Buffer.compare(Buffer.from(vi.bits), Buffer.from(ascii.bits))).not.toBe(0);
    expect(blackCount(vi.bits) - blackCount(ascii.bits)).toBeGreaterThan(60);
  });

  it('renders the same string identically (deterministic output)', async () => {
    const [a, b] = await Promise.all([
      renderTextRaster([{ text: 'Khoa Nội tổng hợp', size: 30 }], 384),
      renderTextRaster([{ text: 'Khoa Nội tổng hợp', size: 30 }], 384),
    ]);
    expect(Buffer.from(a.bits).equals(Buffer.from(b.bits))).toBe(true);
  });

  it('renders XML-special characters as text', async () => {
    const image = await renderTextRaster([{ text: '<Khoa & "Nhi">', size: 30 }], 384);
    expect(blackCount(image.bits)).toBeGreaterThan(200);
  });

  it('wraps long lines on word boundaries and keeps ink inside the paper', async () => {
    const line = { text: 'BỆNH VIỆN ĐA KHOA TRUNG ƯƠNG THÀNH PHỐ HỒ CHÍ MINH', size: 30, bold: true };
    const wrapped = await wrapLine(line, 384);
    expect(wrapped.length).toBeGreaterThan(1);
    expect(wrapped.map((l) => l.text).join(' ')).toBe(line.text);
    const image = await renderTextRaster([line], 384);
    // No ink in the outermost column on either side: nothing was clipped.
    for (let y = 0; y < image.height; y++) {
      expect(image.bits[y * 48]! & 0x80).toBe(0);
      expect(image.bits[y * 48 + 47]! & 0x01).toBe(0);
    }
  });

  it('keeps a line that fits on one line, measured rather than estimated', async () => {
    const line = { text: 'Bệnh viện Đa khoa tỉnh Thừa Thiên Huế', size: 28, bold: true };
    expect(await wrapLine(line, 576)).toEqual([line]);
  });

  it('shrinks a single word wider than the paper instead of clipping it', async () => {
    const [shrunk] = await wrapLine({ text: 'NGHIÊNG-NGHIÊNG-NGHIÊNG', size: 60, bold: true }, 384);
    expect(shrunk!.size).toBeLessThan(60);
    const image = await renderTextRaster([{ text: 'NGHIÊNG-NGHIÊNG-NGHIÊNG', size: 60, bold: true }], 384);
    for (let y = 0; y < image.height; y++) expect(image.bits[y * 48]! & 0x80).toBe(0);
  });
});
