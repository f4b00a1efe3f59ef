/**
 * Answer-to-reset parsing (ISO/IEC 7816-3 §8.2, 7816-4 §8.1.1): which protocols the card offers, its historical
 * bytes, and whether it declares extended Lc/Le support in its card-capabilities object. For contactless cards the
 * reader builds the ATR from the ATS historical bytes (PC/SC Part 3), so the same parse applies.
 */
export interface AtrInfo {
  protocols: number[];
  historicalBytes: Uint8Array;
  /** true/false when the card says, undefined when its ATR carries no card-capabilities object. */
  extendedLength: boolean | undefined;
}

export function parseAtr(atr: Uint8Array): AtrInfo | undefined {
  if (atr.length < 2 || (atr[0] !== 0x3b && atr[0] !== 0x3f)) return undefined;
  const t0 = atr[1] as number;
  const historicalCount = t0 & 0x0f;
  const protocols = new Set<number>();
  let y = t0 >> 4;
  let pos = 2;
  let sawTd = false;
  for (;;) {
    pos += ((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1)); // TAi, TBi, TCi
    if (!(y & 8)) break;
    if (pos >= atr.length) return undefined;
    const td = atr[pos++] as number;
    sawTd = true;
    protocols.add(td & 0x0f);
    y = td >> 4;
  }
  if (!sawTd) protocols.add(0);
  if (pos + historicalCount > atr.length) return undefined;
  const historicalBytes = atr.slice(pos, pos + historicalCount);
  return { protocols: [...protocols].filter((p) => p !== 15), historicalBytes, extendedLength: extendedLengthFromHistorical(historicalBytes) };
}

/** Card capabilities (compact-TLV tag 7, third byte bit 7 = "extended Lc and Le fields"). */
function extendedLengthFromHistorical(hist: Uint8Array): boolean | undefined {
  if (hist.length === 0 || (hist[0] !== 0x80 && hist[0] !== 0x00)) return undefined;
  // Category 00 keeps a 3-byte status indicator at the end, outside the compact-TLV objects.
  const end = hist[0] === 0x00 ? hist.length - 3 : hist.length;
  let pos = 1;
  while (pos < end) {
    const header = hist[pos++] as number;
    const tag = header >> 4;
    const len = header & 0x0f;
    if (pos + len > end) return undefined;
    if (tag === 0x7 && len >= 3) return ((hist[pos + 2] as number) & 0x40) !== 0;
    pos += len;
  }
  return undefined;
}
