import { KioskError } from '@kiosk/common';

/**
 * BER-TLV as used by ISO 7816-4 and the ICAO LDS: tags of 1-3 bytes (0x61, 0x5F1F, 0x7F61), definite lengths in
 * short or long form (81 / 82 / 83 / 84). Hand-written because the card stack needs byte offsets, tags as the
 * LDS numbers them and strict errors on truncation; asn1js is used where a whole ASN.1 structure is parsed.
 */
export interface Tlv {
  /** Tag as a number, all tag bytes big-endian: 0x61, 0x5F1F, 0x7F61. */
  tag: number;
  /** The value bytes (a view into the input, not a copy). */
  value: Uint8Array;
  /** Offset of the first tag byte in the input. */
  start: number;
  /** Offset just past the value. */
  end: number;
  /** Bytes of tag + length. */
  headerLength: number;
}

const MAX_TAG_BYTES = 3;

function malformed(message: string, offset: number): KioskError {
  return new KioskError('TLV_MALFORMED', `${message} at offset ${offset}`, { details: { offset } });
}

export function isConstructed(tag: number): boolean {
  let first = tag;
  while (first > 0xff) first >>>= 8;
  return (first & 0x20) !== 0;
}

/** Reads the tag and length at `offset`: what a reader needs to know how long a file is from its first bytes. */
export function decodeHeader(bytes: Uint8Array, offset = 0): { tag: number; length: number; headerLength: number } {
  let pos = offset;
  if (pos >= bytes.length) throw malformed('missing tag', pos);
  let tag = bytes[pos++] as number;
  if ((tag & 0x1f) === 0x1f) {
    let n = 1;
    let b: number;
    do {
      if (pos >= bytes.length) throw malformed('truncated multi-byte tag', pos);
      if (++n > MAX_TAG_BYTES) throw malformed('tag longer than 3 bytes', offset);
      b = bytes[pos++] as number;
      tag = (tag << 8) | b;
    } while (b & 0x80);
  }
  if (pos >= bytes.length) throw malformed('missing length', pos);
  const first = bytes[pos++] as number;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw malformed('indefinite length is not allowed', pos - 1);
  } else {
    const n = first & 0x7f;
    if (n > 4) throw malformed(`length of ${n} bytes is too long`, pos - 1);
    if (pos + n > bytes.length) throw malformed('truncated length', pos);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (bytes[pos++] as number);
  }
  return { tag: tag >>> 0, length, headerLength: pos - offset };
}

/** Decodes one TLV at `offset`; its value must fit inside `bytes`. */
export function decodeTlv(bytes: Uint8Array, offset = 0): Tlv {
  const { tag, length, headerLength } = decodeHeader(bytes, offset);
  const valueStart = offset + headerLength;
  if (valueStart + length > bytes.length) {
    throw malformed(`value of tag ${tag.toString(16).toUpperCase()} needs ${length} bytes, ${bytes.length - valueStart} left`, valueStart);
  }
  return { tag, value: bytes.subarray(valueStart, valueStart + length), start: offset, end: valueStart + length, headerLength };
}

/** Decodes consecutive TLVs that fill `bytes` exactly. */
export function decodeTlvList(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const tlv = decodeTlv(bytes, offset);
    out.push(tlv);
    offset = tlv.end;
  }
  return out;
}

export function findTlv(list: readonly Tlv[], tag: number): Tlv | undefined {
  return list.find((t) => t.tag === tag);
}

export function encodeLength(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new RangeError(`bad TLV length ${length}`);
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

export function encodeTag(tag: number): Uint8Array {
  const bytes: number[] = [];
  let t = tag;
  do {
    bytes.unshift(t & 0xff);
    t >>>= 8;
  } while (t > 0);
  return Uint8Array.from(bytes);
}

export function encodeTlv(tag: number, ...values: Uint8Array[]): Uint8Array {
  const length = values.reduce((n, v) => n + v.length, 0);
  const tagBytes = encodeTag(tag);
  const lengthBytes = encodeLength(length);
  const out = new Uint8Array(tagBytes.length + lengthBytes.length + length);
  out.set(tagBytes, 0);
  out.set(lengthBytes, tagBytes.length);
  let pos = tagBytes.length + lengthBytes.length;
  for (const v of values) {
    out.set(v, pos);
    pos += v.length;
  }
  return out;
}
