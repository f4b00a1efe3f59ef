import { EventEmitter } from 'node:events';
import { KioskError } from '@kiosk/common';
import { InProcessTransceiver, type ApduTransceiver, type VirtualCard } from '@kiosk/device-drivers';
import type { KioskEvent } from '../../src/service/card-monitor.js';
import type { CardSessions } from '../../src/service/identity-check.js';

/**
 * The card reader without PC/SC: the virtual chip answers in process (the PC/SC path runs in ui.int.test.ts).
 * Inserting emits the monitor's event, as pcscd would.
 */
export class InProcessReader extends EventEmitter<{ event: [KioskEvent] }> implements CardSessions {
  card: VirtualCard | undefined;

  insert(card: VirtualCard): void {
    this.card = card;
    this.emit('event', { type: 'card-inserted', reader: 'in-process' });
  }

  async openCardSession(): Promise<ApduTransceiver & { atr: Uint8Array }> {
    if (!this.card) throw new KioskError('CARD_REMOVED', 'no card on the reader');
    return Object.assign(new InProcessTransceiver(this.card), { atr: this.card.atr });
  }
}
