import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KioskError } from '@kiosk/common';
import { createDecoder, DECODER_NAMES, symbolText } from '../../src/qr/index.js';
import { boxBlur3, crop, halve, toGray } from '../../src/qr/decode/gray-image.js';
import { PERSONA_QR } from './persona.js';
import { blankImage, qrImage } from './qr-images.js';

describe('symbolText', () => {
  const utf8 = new TextEncoder().encode('Nữ');
  it('reads bytes without ECI as UTF-8 when they are valid UTF-8', () => {
    expect(symbolText(utf8, false, 'NÆ¯Ì')).toBe('Nữ');
  });
  it("keeps the decoder's reading for bytes that are not UTF-8 (Latin-1 text)", () => {
    expect(symbolText(Uint8Array.of(0x43, 0x61, 0x66, 0xe9), false, 'Café')).toBe('Café');
  });
  it('keeps the decoder text when an ECI names the charset', () => {
    expect(symbolText(utf8, true, 'declared')).toBe('declared');
  });
});

describe('grey images', () => {
  it('converts RGB, RGBA and grey+alpha to luminance', () => {
    expect([...toGray({ width: 2, height: 1, channels: 3, data: Uint8Array.of(255, 255, 255, 0, 0, 0) }).data]).toEqual([255, 0]);
    expect([...toGray({ width: 1, height: 1, channels: 4, data: Uint8Array.of(255, 0, 0, 9) }).data]).toEqual([76]);
    expect([...toGray({ width: 2, height: 1, channels: 2, data: Uint8Array.of(7, 255, 9, 0) }).data]).toEqual([7, 9]);
  });

  it('rejects a buffer that does not match its sizes', () => {
    expect(() => toGray({ width: 4, height: 4, channels: 3, data: new Uint8Array(47) })).toThrow(expect.objectContaining({ code: 'CAMERA_FRAME_INVALID' }));
    expect(() => toGray({ width: 0, height: 4, channels: 1, data: new Uint8Array(0) })).toThrow(KioskError);
  });

  it('crops inside the image only, halves by averaging, and box-filters a flat image to itself', () => {
    const image = { width: 4, height: 2, data: Uint8Array.of(0, 10, 20, 30, 40, 50, 60, 70) };
    expect(crop(image, { x: 2, y: -5, width: 10, height: 6 })).toEqual({ width: 2, height: 1, data: Uint8Array.of(20, 30) });
    expect([...halve(image).data]).toEqual([25, 45]);
    const flat = { width: 5, height: 5, data: new Uint8Array(25).fill(123) };
    expect(boxBlur3(flat).data).toEqual(flat.data);
  });
});

describe('decoders', () => {
  it.each(DECODER_NAMES)('%s reads a CCCD QR in UTF-8 byte mode with its Vietnamese text intact', async (name) => {
    const found = await createDecoder(name).decode(toGray(qrImage(PERSONA_QR)));
    expect(found?.text).toBe(PERSONA_QR);
    expect(found?.decoder).toBe(name);
    expect(found?.points.length).toBeGreaterThanOrEqual(3);
  });

  it.each(DECODER_NAMES)('%s finds nothing in an image without a code', async (name) => {
    expect(await createDecoder(name).decode(toGray(blankImage(120, 90)))).toBeUndefined();
  });

  it('rejects an unknown decoder name', () => {
    expect(() => createDecoder('zbar')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('fuzz (fast-check)', () => {
  it('symbolText never throws and reads exactly the valid UTF-8 byte strings as UTF-8 (500 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, eci) => {
        const text = symbolText(bytes, eci, 'decoder');
        let valid = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          valid = false;
        }
        expect(text).toBe(!eci && valid && bytes.length > 0 ? new TextDecoder().decode(bytes) : 'decoder');
      }),
      { numRuns: 500 },
    );
  });

  it('crop keeps any rectangle inside the image (500 cases)', () => {
    const image = { width: 17, height: 11, data: Uint8Array.from({ length: 187 }, (_, i) => i) };
    fc.assert(
      fc.property(fc.integer({ min: -30, max: 30 }), fc.integer({ min: -30, max: 30 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), (x, y, width, height) => {
        const out = crop(image, { x, y, width, height });
        expect(out.width).toBeLessThanOrEqual(17);
        expect(out.height).toBeLessThanOrEqual(11);
        expect(out.data.length).toBe(out.width * out.height);
        if (out.width > 0 && out.height > 0) expect(out.data[0]).toBe(image.data[Math.max(0, y) * 17 + Math.max(0, x)]);
      }),
      { numRuns: 500 },
    );
  });
});
