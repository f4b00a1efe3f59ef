import { KioskError } from '@kiosk/common';
import type { ApduTransceiver } from './transceiver.js';

/**
 * Replays a recorded exchange: each command must equal the next expected one byte for byte, and gets its
 * recorded answer. Known-answer tests (ICAO 9303-11 Appendices D and G) run the real protocol code through it.
 */
export interface ScriptStep {
  /** Expected command APDU, hex (spaces allowed). */
  command: string;
  /** Answer to give: response data + SW, hex. */
  response: string;
}

const clean = (hex: string): string => hex.replace(/\s+/g, '').toUpperCase();

export class ScriptedTransceiver implements ApduTransceiver {
  private index = 0;

  constructor(private readonly steps: readonly ScriptStep[]) {}

  /** Number of steps not yet consumed. */
  get remaining(): number {
    return this.steps.length - this.index;
  }

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const step = this.steps[this.index];
    const got = Buffer.from(command).toString('hex').toUpperCase();
    if (!step) throw new KioskError('CARD_TRANSMIT_FAILED', `script exhausted after ${this.index} steps; unexpected command ${got}`);
    if (clean(step.command) !== got) {
      throw new KioskError('CARD_TRANSMIT_FAILED', `script step ${this.index + 1}: expected command ${clean(step.command)}, got ${got}`);
    }
    this.index++;
    return Uint8Array.from(Buffer.from(clean(step.response), 'hex'));
  }

  async close(): Promise<void> {}
}
