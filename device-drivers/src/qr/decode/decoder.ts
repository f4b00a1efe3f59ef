import type { GrayImage } from './gray-image.js';

export const DECODER_NAMES = ['zxing-wasm', 'zxing-js', 'jsqr'] as const;
export type DecoderName = (typeof DECODER_NAMES)[number];

export interface Point {
  x: number;
  y: number;
}

/** One decoded QR symbol. Only complete symbols whose Reed-Solomon check passed ever become a DecodedQr. */
export interface DecodedQr {
  text: string;
  /** The symbol's content bytes (before any charset decoding), when the decoder exposes them. */
  bytes: Uint8Array | undefined;
  /** Whether the symbol carried an ECI designator (e.g. 26 = UTF-8); undefined when the decoder does not say. */
  eci: boolean | undefined;
  /** Corners or finder-pattern centres in image coordinates, used to look in the same place in the next frame. */
  points: Point[];
  decoder: DecoderName;
}

export interface QrDecodeOptions {
  /** Spend more time looking (finder-pattern search on every row, rotations): for a second attempt only. */
  tryHarder?: boolean;
}

/** A QR decoder over a grey image; resolves undefined when no complete, error-corrected symbol is found. */
export interface QrDecoder {
  readonly name: DecoderName;
  decode(image: GrayImage, options?: QrDecodeOptions): Promise<DecodedQr | undefined>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a byte-mode symbol. Without ECI the standard's default charset is ISO-8859-1, but the CCCD QR and
 * most writers put UTF-8 bytes there without saying so: bytes that are valid UTF-8 are read as UTF-8 (Latin-1
 * text with accented letters is almost never valid UTF-8), anything else keeps the decoder's own reading. With an
 * ECI the decoder honours the declared charset.
 */
export function symbolText(bytes: Uint8Array | undefined, eci: boolean, decoderText: string): string {
  if (eci || !bytes || bytes.length === 0) return decoderText;
  try {
    return utf8.decode(bytes);
  } catch {
    return decoderText;
  }
}
