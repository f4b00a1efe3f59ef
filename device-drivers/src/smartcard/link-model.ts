import type { ApduTransceiver } from './transceiver.js';

/**
 * Counts what crosses the card link and models the time it would take on a real contactless link: a fixed cost
 * per APDU (reader turnaround, frame overhead, card processing) plus the bytes at the link's bit rate. Nothing
 * sleeps: benchmarks compare read strategies by these figures, independent of the machine.
 */
export interface LinkModel {
  /** Fixed cost per command/response exchange, ms. */
  perApduMs: number;
  /** Link bit rate, bit/s (ISO 14443 default 106 kbit/s; 212/424/848 negotiated). */
  bitsPerSecond: number;
}

export const ISO14443_424K: LinkModel = { perApduMs: 5, bitsPerSecond: 424_000 };

export interface LinkStats {
  apdus: number;
  bytesSent: number;
  bytesReceived: number;
  /** Modelled link time in ms. */
  modelledMs: number;
}

export class LinkModelTransceiver implements ApduTransceiver {
  private readonly stats: LinkStats = { apdus: 0, bytesSent: 0, bytesReceived: 0, modelledMs: 0 };

  constructor(
    private readonly inner: ApduTransceiver,
    readonly model: LinkModel = ISO14443_424K,
  ) {}

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const response = await this.inner.transmit(command);
    this.stats.apdus++;
    this.stats.bytesSent += command.length;
    this.stats.bytesReceived += response.length;
    this.stats.modelledMs += this.model.perApduMs + ((command.length + response.length) * 8 * 1000) / this.model.bitsPerSecond;
    return response;
  }

  snapshot(): LinkStats {
    return { ...this.stats };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The physical floor: the time to move `payloadBytes` at the link rate with no protocol overhead at all. */
export function linkFloorMs(payloadBytes: number, model: LinkModel = ISO14443_424K): number {
  return (payloadBytes * 8 * 1000) / model.bitsPerSecond;
}
