import { KioskError } from '@kiosk/common';
import type { ApduTransceiver } from './transceiver.js';
import type { VirtualCard } from './vpcd/virtual-card.js';

/** Talks to a virtual card in the same process: the card stack without PC/SC, for unit tests and benchmarks. */
export class InProcessTransceiver implements ApduTransceiver {
  private open = true;

  constructor(private readonly card: VirtualCard) {
    card.reset();
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    if (!this.open) throw new KioskError('CARD_TRANSMIT_FAILED', 'the card session is closed');
    return this.card.process(command);
  }

  async close(): Promise<void> {
    this.open = false;
  }
}
