import { KioskError } from '@kiosk/common';

/**
 * ISO/IEC 7816-4 command and response APDUs. Short form where it fits, extended form (3-byte Lc/Le) otherwise;
 * Le = 256 (short) or 65536 (extended) is encoded as 00 / 0000 as the standard says.
 */
export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data?: Uint8Array;
  /** Expected response length; undefined = no Le field. */
  le?: number;
}

export interface ResponseApdu {
  data: Uint8Array;
  /** Status word SW1SW2, e.g. 0x9000. */
  sw: number;
}

export const SW_SUCCESS = 0x9000;

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

export function isExtended(apdu: CommandApdu): boolean {
  return (apdu.data?.length ?? 0) > 255 || (apdu.le ?? 0) > 256;
}

export function encodeCommand(apdu: CommandApdu): Uint8Array {
  const data = apdu.data ?? new Uint8Array(0);
  const { le } = apdu;
  if (data.length > 65535) throw new RangeError(`command data of ${data.length} bytes exceeds 65535`);
  if (le !== undefined && (le < 1 || le > 65536)) throw new RangeError(`Le ${le} out of range 1..65536`);
  for (const [field, value] of [['CLA', apdu.cla], ['INS', apdu.ins], ['P1', apdu.p1], ['P2', apdu.p2]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 255) throw new RangeError(`${field} ${value} is not a byte`);
  }
  const header = [apdu.cla, apdu.ins, apdu.p1, apdu.p2];
  const out: number[] = [...header];
  if (!isExtended(apdu)) {
    if (data.length > 0) out.push(data.length, ...data);
    if (le !== undefined) out.push(le === 256 ? 0 : le);
    return Uint8Array.from(out);
  }
  if (data.length > 0) {
    out.push(0, data.length >> 8, data.length & 0xff, ...data);
    if (le !== undefined) out.push((le >> 8) & 0xff, le & 0xff);
  } else if (le !== undefined) {
    out.push(0, (le >> 8) & 0xff, le & 0xff);
  }
  return Uint8Array.from(out);
}

export function decodeResponse(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) {
    throw new KioskError('CARD_MALFORMED_RESPONSE', `card answered ${bytes.length} byte(s); a response APDU needs at least SW1 SW2`);
  }
  const n = bytes.length;
  return { data: bytes.slice(0, n - 2), sw: ((bytes[n - 2] as number) << 8) | (bytes[n - 1] as number) };
}
