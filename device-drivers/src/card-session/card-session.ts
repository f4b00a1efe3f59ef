import { KioskError, isKioskError } from '@kiosk/common';
import type { ApduTransceiver } from '../smartcard/transceiver.js';
import type { AccessKey } from '../emrtd/access/access-keys.js';
import type { ReadPlan } from '../emrtd/lds/file-reader.js';
import { assertHolderReadable, holderOf, parseCardRead, type CardRead, type Holder } from '../emrtd/parse-card.js';
import { openAndReadCard, type LdsFileName, type ReadProgressEvent } from '../emrtd/read-card-files.js';
import type { SecureMessagingTransceiver } from '../emrtd/sm/secure-messaging.js';
import { authenticateChip, NO_SESSION_CHIP_CHECKS } from '../verify/chip-checks.js';
import { verifyDocument, type Verdict, type VerifyDocumentInput } from '../verify/passive-authentication.js';

/**
 * One card on the reader, from access control to the verdict: the one place that knows the session rules. It owns
 * the secure-messaging channel of the read (and Chip Authentication's replacement of it), so callers never thread
 * it; it verifies only a card whose holder is readable; and a card that leaves the reader during Active or Chip
 * Authentication ends the session with CARD_REMOVED, never a failed check (a removal is no evidence of a clone).
 * Outside emrtd/ because it runs verify/, which emrtd/ never imports.
 */
export interface CardSessionOptions {
  /** Tried in order (a QR gives a CAN, then MRZ data). */
  keys: AccessKey | AccessKey[];
  /** The card's ATR (from the reader), to decide on extended-length reads. */
  atr?: Uint8Array | undefined;
  /** Allow BAC when the card offers no PACE (default true). */
  allowBac?: boolean;
  /** Files to read after EF.CardAccess (default DEFAULT_FILES). */
  files?: LdsFileName[];
  plan?: Partial<ReadPlan>;
  onProgress?: (event: CardSessionProgress) => void;
}

/** The read's events (access, file by file, skips, restarts), then 'verifying' once the chip checks start. */
export type CardSessionProgress = ReadProgressEvent | { phase: 'verifying' };

export type CardVerifyOptions = Pick<VerifyDocumentInput, 'trust' | 'policy' | 'at'>;

export interface CardCheck {
  read: CardRead;
  holder: Holder;
  verdict: Verdict;
}

export class CardSession {
  private readonly card: ApduTransceiver;
  private removed = false;
  private channel: SecureMessagingTransceiver | undefined;
  private result: CardRead | undefined;

  /** `card` is the reader's transceiver; the caller keeps it and closes it. */
  constructor(
    card: ApduTransceiver,
    private readonly options: CardSessionOptions,
  ) {
    // Every APDU of the session passes here, so a removal is seen whatever layer above turned it into.
    this.card = {
      transmit: (command) =>
        card.transmit(command).catch((err: unknown) => {
          if (isKioskError(err, 'CARD_REMOVED')) this.removed = true;
          throw err;
        }),
      close: () => card.close(),
    };
  }

  /** Access control and the files, parsed; once per session. A file that does not parse is kept and reported. */
  async read(): Promise<CardRead> {
    if (this.result) throw new KioskError('USAGE', 'the card session has already read the card');
    const { keys, atr, allowBac, files, plan, onProgress } = this.options;
    const { raw, channel } = await openAndReadCard(this.card, { key: keys, atr, allowBac, files, plan, onProgress });
    this.channel = channel;
    this.result = parseCardRead(raw);
    return this.result;
  }

  /** The holder of the card read; LDS_MALFORMED when DG1 or DG13 did not parse (nothing about them can be trusted). */
  holder(): Holder {
    const read = this.readFirst();
    assertHolderReadable(read);
    return holderOf(read);
  }

  /** Active and Chip Authentication on the session, then Passive Authentication of the files, under the policy. */
  async verify(options: CardVerifyOptions): Promise<Verdict> {
    const read = this.readFirst();
    assertHolderReadable(read);
    this.options.onProgress?.({ phase: 'verifying' });
    let chip = NO_SESSION_CHIP_CHECKS;
    if (this.channel) {
      const { channel, ...checks } = await authenticateChip(this.card, this.channel, read);
      this.channel = channel;
      chip = checks;
    }
    if (this.removed) throw new KioskError('CARD_REMOVED', 'the card left the reader during Active or Chip Authentication');
    return verifyDocument({ files: read.files, issuingState: read.mrz?.issuingState, ...options, ...chip });
  }

  private readFirst(): CardRead {
    if (!this.result) throw new KioskError('USAGE', 'read the card before asking for its holder or verdict');
    return this.result;
  }
}

/** The whole check of the card on the reader: read, holder, verdict. The caller closes `card`. */
export async function readAndVerifyCard(card: ApduTransceiver, options: CardSessionOptions & CardVerifyOptions): Promise<CardCheck> {
  const { trust, policy, at, ...sessionOptions } = options;
  const session = new CardSession(card, sessionOptions);
  const read = await session.read();
  const verdict = await session.verify({ trust, policy, at });
  return { read, holder: session.holder(), verdict };
}
