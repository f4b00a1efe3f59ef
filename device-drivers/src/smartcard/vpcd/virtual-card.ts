/** The card side of a simulated smart card: what a vpcd link (or an in-process transport) drives. */
export interface VirtualCard {
  /** Answer-to-reset the card presents; see `contactlessAtr`. */
  readonly atr: Uint8Array;
  /** Power-on or warm reset: the card forgets its session state (selected file, secure messaging keys). */
  reset(): void;
  /** Power-off. */
  powerOff(): void;
  /** Processes one command APDU and returns the response APDU (data + SW1 SW2). */
  process(command: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/**
 * ATR a PC/SC reader synthesises for an ISO 14443-4 contactless card (PC/SC Part 3, 3.1.3.2.3):
 * 3B 8n 80 01 <historical bytes> TCK, where TCK makes the XOR of T0..TCK zero.
 */
export function contactlessAtr(historical: Uint8Array): Uint8Array {
  if (historical.length > 15) throw new RangeError('at most 15 historical bytes');
  const body = [0x8 << 4 | historical.length, 0x80, 0x01, ...historical];
  const tck = body.reduce((x, b) => x ^ b, 0);
  return Uint8Array.from([0x3b, ...body, tck]);
}
