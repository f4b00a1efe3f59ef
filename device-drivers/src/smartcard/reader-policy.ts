import { KioskError } from '@kiosk/common';

/**
 * Which card readers the kiosk may use. With real devices (`devices.mode: 'real'`) only the physical reader
 * named by `devices.cardReader` is used: a reader whose name marks it as virtual or emulated is refused, so a
 * card played by software (vsmartcard-vpcd, left installed from development or set up by someone with access to
 * the machine) can never stand in for a citizen's chip. Simulated mode uses exactly those readers.
 *
 * The rule goes by the PC/SC reader name, which is what pcscd offers: it guards against a misconfigured or
 * left-over virtual reader, not against an attacker with root who can name a reader anything (vpcd's ports are
 * closed to the network separately: scripts/setup-system.sh).
 */
export type DevicesMode = 'simulated' | 'real';

/** Name patterns of well-known virtual / emulated readers, each with what it is (for the refusal message). */
export const VIRTUAL_READER_NAMES: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  // vsmartcard-vpcd ("Virtual PCD 00 00"), Windows TPM virtual smart cards ("Microsoft Virtual Smart Card 0"),
  // vsmartcard's USB CCID emulator (maker "Virtual Smart Card Architecture"), BixVReader ("Virtual Smart Card Reader").
  { pattern: /virtual/i, what: 'a virtual reader' },
  { pattern: /\bvpcd\b|\bvicc\b|vsmartcard/i, what: 'vsmartcard (vpcd / vicc)' },
  { pattern: /jcardsim/i, what: 'the jCardSim Java Card simulator' },
  // vsmartcard's "CCID Emulator", card and reader simulators of SDKs.
  { pattern: /emulat|simulat/i, what: 'an emulator or simulator' },
  // QEMU's usb-ccid device, whose card is usually emulated by libcacard on the host.
  { pattern: /\bqemu\b/i, what: 'a QEMU emulated CCID reader' },
];

/** What a reader name gives away as virtual, or undefined for a name like a physical reader's. */
export function virtualReaderKind(readerName: string): string | undefined {
  return VIRTUAL_READER_NAMES.find((v) => v.pattern.test(readerName))?.what;
}

/** Why `readerName` may not be used in `mode`, as the error to throw; undefined when it may. */
export function readerRefusal(mode: DevicesMode, readerName: string): KioskError | undefined {
  if (mode !== 'real') return undefined;
  const kind = virtualReaderKind(readerName);
  if (!kind) return undefined;
  return new KioskError('CARD_READER_REFUSED', `reader "${readerName}" looks like ${kind}: with devices.mode 'real' only the physical card reader is used`, {
    details: { reader: readerName },
  });
}

export function isReaderAllowed(mode: DevicesMode, readerName: string): boolean {
  return readerRefusal(mode, readerName) === undefined;
}

/**
 * Checks the configured reader at start-up. Real mode needs `cardReader` (a substring of the physical reader's
 * PC/SC name): "any reader with a card" would let whichever reader appears first, a virtual one included, serve
 * the kiosk. A name that is itself a virtual reader's is refused. `setting` names where the value came from.
 */
export function assertReaderConfig(mode: DevicesMode, cardReader: string, setting = 'devices.cardReader (KIOSK_DEVICES_CARD_READER)'): void {
  if (mode !== 'real') return;
  if (cardReader.trim() === '') {
    throw new KioskError('CONFIG_INVALID', `devices.mode is 'real' but ${setting} is empty: name the physical card reader (part of its PC/SC name, as \`kiosk-card readers\` lists it)`, {
      details: { problems: [`${setting}: must name the card reader in real mode`] },
    });
  }
  const refusal = readerRefusal(mode, cardReader);
  if (refusal) {
    throw new KioskError('CARD_READER_REFUSED', `${setting} "${cardReader}" names a virtual reader: with devices.mode 'real' only the physical card reader is used`, {
      details: { reader: cardReader },
    });
  }
}
