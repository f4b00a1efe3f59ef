import { EventEmitter } from 'node:events';
import { KioskError, isKioskError, type KioskConfig, type Logger } from '@kiosk/common';
import { PcscService, assertReaderConfig, ensurePcscd, readerRefusal, type PcscCardSession, type PcscdHandle } from '@kiosk/device-drivers';
import type { IdentityProgressEvent } from '../shared/identity-api.js';

export interface CardReaderStatus {
  kind: 'card-reader';
  driver: 'pcsc';
  mode: KioskConfig['devices']['mode'];
  state: 'ready' | 'unavailable';
  /** Why the reader is unavailable (for the technician screen; no personal data). */
  reason?: string;
  readers: Array<{ name: string; cardPresent: boolean }>;
}

export type KioskEvent =
  | { type: 'card-inserted'; reader: string }
  | { type: 'card-removed'; reader: string }
  | { type: 'devices'; devices: CardReaderStatus[] }
  | IdentityProgressEvent;

/**
 * Watches PC/SC readers for the kiosk. In simulated mode the kiosk brings its own pcscd (with the vsmartcard-vpcd
 * virtual readers that `kiosk-sim card insert` plugs into); in real mode it uses the system's pcscd.
 * An unavailable PC/SC stack is a device state shown to staff, not a reason for the kiosk to stop.
 * In real mode only the physical reader named by devices.cardReader is used: readers named like virtual ones are
 * refused (device-drivers reader-policy.ts), and an empty or virtual devices.cardReader stops the start-up.
 */
export class CardMonitor extends EventEmitter<{ event: [KioskEvent] }> {
  private service: PcscService | undefined;
  private pcscd: PcscdHandle | undefined;
  private reason: string | undefined;

  private constructor(
    private readonly mode: KioskConfig['devices']['mode'],
    private readonly log: Logger,
    private readonly readerMatch: string,
  ) {
    super();
  }

  /**
   * `readerMatch`: substring of the reader name to use (devices.cardReader); empty = any reader holding a card,
   * simulated mode only. A configuration real mode cannot run with is thrown (CONFIG_INVALID, CARD_READER_REFUSED):
   * unlike a missing pcscd, it will not get better while the kiosk runs.
   */
  static async start(mode: KioskConfig['devices']['mode'], log: Logger, readerMatch = ''): Promise<CardMonitor> {
    assertReaderConfig(mode, readerMatch);
    const monitor = new CardMonitor(mode, log, readerMatch);
    try {
      if (mode === 'simulated') monitor.pcscd = await ensurePcscd();
      monitor.attach(PcscService.open());
      await monitor.service?.listReaders();
    } catch (err) {
      monitor.reason = isKioskError(err) ? `${err.code}: ${err.message}` : String(err);
      log.warn({ err }, 'card reader unavailable; the kiosk keeps running without it');
    }
    return monitor;
  }

  status(): CardReaderStatus[] {
    const readers = this.service?.readers().filter((r) => this.uses(r.name)).map((r) => ({ name: r.name, cardPresent: r.cardPresent })) ?? [];
    const status: CardReaderStatus = { kind: 'card-reader', driver: 'pcsc', mode: this.mode, state: this.service ? 'ready' : 'unavailable', readers };
    if (this.reason) status.reason = this.reason;
    return [status];
  }

  /** An APDU session with the card on the kiosk's reader; CARD_REMOVED when no card is there. */
  async openCardSession(): Promise<PcscCardSession> {
    if (!this.service) throw new KioskError('PCSC_UNAVAILABLE', `the card reader is unavailable${this.reason ? ` (${this.reason})` : ''}`);
    const readers = this.service.readers().filter((r) => r.cardPresent && r.name.includes(this.readerMatch));
    const reader = readers.find((r) => this.uses(r.name));
    if (reader) return this.service.connect(reader.name);
    // A card only in a refused (virtual) reader: say so rather than "no card", for staff looking at the log.
    const refused = readers.map((r) => readerRefusal(this.mode, r.name)).find((e) => e !== undefined);
    if (refused) throw refused;
    throw new KioskError('CARD_REMOVED', 'no card on the reader');
  }

  async stop(): Promise<void> {
    this.service?.close();
    this.service = undefined;
    await this.pcscd?.stop();
  }

  /**
   * Whether the kiosk uses this reader (devices.cardReader, and in real mode not a virtual one); cards in other
   * readers are none of its business.
   */
  private uses(readerName: string): boolean {
    return readerName.includes(this.readerMatch) && readerRefusal(this.mode, readerName) === undefined;
  }

  /** Logs a card that arrives in a reader real mode refuses (a virtual reader matching devices.cardReader). */
  private noteRefused(readerName: string): void {
    const refusal = readerName.includes(this.readerMatch) ? readerRefusal(this.mode, readerName) : undefined;
    if (refusal) this.log.warn({ reader: readerName, code: refusal.code }, 'card in a refused reader ignored');
  }

  private attach(service: PcscService): void {
    this.service = service;
    const devices = (): void => {
      this.emit('event', { type: 'devices', devices: this.status() });
    };
    service.on('card-inserted', (r) => {
      if (!this.uses(r.name)) {
        this.noteRefused(r.name);
        return;
      }
      this.log.info({ reader: r.name }, 'card inserted');
      this.emit('event', { type: 'card-inserted', reader: r.name });
      devices();
    });
    service.on('card-removed', (reader) => {
      if (!this.uses(reader)) return;
      this.log.info({ reader }, 'card removed');
      this.emit('event', { type: 'card-removed', reader });
      devices();
    });
    service.on('reader-attached', devices);
    service.on('reader-detached', devices);
    service.on('error', (err) => {
      this.log.error({ err }, 'PC/SC failure');
      this.reason = `${err.code}: ${err.message}`;
      this.service?.close();
      this.service = undefined;
      devices();
    });
  }
}
