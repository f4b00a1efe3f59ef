import { KioskError } from '@kiosk/common';

/**
 * ISO/IEC 9797-1 padding method 2: append 80, then 00 up to a multiple of the block size. A full block is added
 * when the input is already aligned, so padding is always removable.
 */
export function pad(data: Uint8Array, blockSize: number): Uint8Array {
  const out = new Uint8Array((Math.floor(data.length / blockSize) + 1) * blockSize);
  out.set(data, 0);
  out[data.length] = 0x80;
  return out;
}

/**
 * Removes method-2 padding from decrypted secure-messaging data. Anything else (unaligned length, no 80 marker
 * in the last block, non-zero filler) means the data was not what the peer encrypted: CARD_SM_FAILED.
 */
export function unpad(data: Uint8Array, blockSize: number): Uint8Array {
  if (data.length === 0 || data.length % blockSize !== 0) {
    throw new KioskError('CARD_SM_FAILED', `padded data of ${data.length} bytes is not a multiple of the ${blockSize}-byte block`);
  }
  let i = data.length - 1;
  while (i >= data.length - blockSize && data[i] === 0x00) i--;
  if (i < data.length - blockSize || data[i] !== 0x80) {
    throw new KioskError('CARD_SM_FAILED', 'decrypted data does not end in ISO/IEC 9797-1 method 2 padding');
  }
  return data.slice(0, i);
}
