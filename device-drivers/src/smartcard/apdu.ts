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

function malformedCommand(message: string): KioskError {
  return new KioskError('APDU_MALFORMED', `malformed command APDU: ${message}`);
}

/** Parses command APDU bytes (all four ISO 7816-4 cases, short and extended): what a card, or an SM layer, sees. */
export function decodeCommand(bytes: Uint8Array): CommandApdu {
  if (bytes.length < 4) throw malformedCommand(`${bytes.length} bytes, a header needs 4`);
  const [cla, ins, p1, p2] = bytes as unknown as [number, number, number, number];
  const header = { cla, ins, p1, p2 };
  const body = bytes.subarray(4);
  if (body.length === 0) return header; // case 1
  if (body.length === 1) return { ...header, le: body[0] || 256 }; // case 2 short
  if (body[0] !== 0) {
    // short case 3 or 4
    const lc = body[0] as number;
    const rest = body.length - 1 - lc;
    if (rest !== 0 && rest !== 1) throw malformedCommand(`Lc ${lc} does not match ${body.length - 1} remaining bytes`);
    const data = body.slice(1, 1 + lc);
    return rest === 1 ? { ...header, data, le: body[1 + lc] || 256 } : { ...header, data };
  }
  // extended: 00 then two bytes
  if (body.length === 3) return { ...header, le: ((body[1] as number) << 8 | (body[2] as number)) || 65536 }; // case 2 extended
  if (body.length < 3) throw malformedCommand('truncated extended length');
  const lc = (body[1] as number) << 8 | (body[2] as number);
  if (lc === 0) throw malformedCommand('extended Lc of 0');
  const rest = body.length - 3 - lc;
  if (rest !== 0 && rest !== 2) throw malformedCommand(`extended Lc ${lc} does not match ${body.length - 3} remaining bytes`);
  const data = body.slice(3, 3 + lc);
  if (rest === 0) return { ...header, data };
  const le = ((body[3 + lc] as number) << 8 | (body[4 + lc] as number)) || 65536;
  return { ...header, data, le };
}

/** Response APDU bytes: data followed by SW1 SW2. */
export function encodeResponse(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out[data.length] = sw >> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}
