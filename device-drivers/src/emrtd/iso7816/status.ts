import { KioskError } from '@kiosk/common';
import { decodeResponse, swHex, type ResponseApdu } from '../../smartcard/apdu.js';

/** Meanings of the status words the eMRTD layers act on (ISO 7816-4 §5.6, ICAO 9303-11). */
const SW_TEXT: Record<number, string> = {
  0x6282: 'end of file reached before Le bytes',
  0x6700: 'wrong length',
  0x6982: 'security status not satisfied',
  0x6985: 'conditions of use not satisfied',
  0x6986: 'command not allowed (no current EF)',
  0x6987: 'expected secure messaging data objects missing',
  0x6988: 'secure messaging data objects incorrect',
  0x6a80: 'incorrect data field',
  0x6a82: 'file or application not found',
  0x6a86: 'incorrect P1-P2',
  0x6a87: 'Lc inconsistent with P1-P2',
  0x6b00: 'offset outside the file',
  0x6d00: 'instruction not supported',
  0x6e00: 'class not supported',
};

export function describeSw(sw: number): string {
  const text = SW_TEXT[sw] ?? ((sw & 0xff00) === 0x6c00 ? `wrong Le, exact length ${sw & 0xff}` : undefined);
  return text ? `SW ${swHex(sw)} (${text})` : `SW ${swHex(sw)}`;
}

/** A card answered with a status word the caller did not accept. `sw` lets callers branch on it. */
export class CardStatusError extends KioskError {
  readonly sw: number;

  constructor(operation: string, sw: number) {
    super('CARD_STATUS_ERROR', `${operation}: card answered ${describeSw(sw)}`, { details: { sw: swHex(sw) } });
    this.sw = sw;
  }
}

export function isStatus(err: unknown, ...sws: number[]): err is CardStatusError {
  return err instanceof CardStatusError && sws.includes(err.sw);
}

/** Decodes a response and throws CardStatusError unless its SW is one of `accept` (default 9000). */
export function expectSuccess(operation: string, bytes: Uint8Array, accept: readonly number[] = [0x9000]): ResponseApdu {
  const response = decodeResponse(bytes);
  if (!accept.includes(response.sw)) throw new CardStatusError(operation, response.sw);
  return response;
}

/**
 * Status words chips answer the authentication step of BAC or PACE with when the access key is wrong: 6300 (ICAO),
 * 63Cx (retry counter, older chips), 6982 / 6988 (seen on some chips).
 */
export function isAccessKeyRejected(sw: number): boolean {
  return sw === 0x6300 || sw === 0x6982 || sw === 0x6988 || (sw & 0xfff0) === 0x63c0;
}

export function accessKeyRejected(operation: string, sw: number): KioskError {
  return new KioskError('CARD_ACCESS_DENIED', `access key rejected: ${operation} answered SW ${swHex(sw)}`, { details: { sw: swHex(sw) } });
}
