import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type pcsclite from 'pcsclite';
import { KioskError, isKioskError } from '@kiosk/common';
import type { ApduTransceiver } from '../transceiver.js';
import { T0GetResponseTransceiver } from '../t0-get-response.js';
import { pcscError } from './pcsc-errors.js';

// The `pcsclite` binding (not the @pokusew fork): when pcscd is down its constructor throws SCARD_E_NO_SERVICE,
// where the fork busy-waits on the main thread forever.
const require = createRequire(import.meta.url);
type PcscLite = ReturnType<typeof pcsclite>;

/** The part of pcsclite's CardReader we use (its typings do not export the type). */
interface NativeReader extends EventEmitter {
  name: string;
  SCARD_SHARE_SHARED: number;
  SCARD_PROTOCOL_T0: number;
  SCARD_PROTOCOL_T1: number;
  SCARD_STATE_PRESENT: number;
  SCARD_STATE_CHANGED: number;
  SCARD_RESET_CARD: number;
  connect(options: { share_mode?: number; protocol?: number }, cb: (err: unknown, protocol: number) => void): void;
  disconnect(disposition: number, cb: (err: unknown) => void): void;
  transmit(data: Buffer, resLen: number, protocol: number, cb: (err: unknown, response: Buffer) => void): void;
  close(): void;
}

export interface ReaderInfo {
  name: string;
  cardPresent: boolean;
  /** ATR of the card in the reader, when one is present. */
  atr: Uint8Array | undefined;
}

export interface PcscServiceEvents {
  'reader-attached': [name: string];
  'reader-detached': [name: string];
  'card-inserted': [reader: ReaderInfo];
  'card-removed': [name: string];
  error: [KioskError];
}

interface ReaderEntry {
  native: NativeReader;
  info: ReaderInfo;
  /** false until the first status event says whether a card is present. */
  known: boolean;
}

/** How long to wait for PC/SC to report a removal after a failed transmit. */
const CARD_GONE_GRACE_MS = 1000;

/** Largest response a reader can hand back: 65536 data bytes + SW1 SW2 (extended length). */
const MAX_RESPONSE = 65538;

/**
 * PC/SC readers and cards through pcscd, with hot-plug as events. One instance per process; `close()` releases
 * the PC/SC context so the process can exit.
 */
export class PcscService extends EventEmitter<PcscServiceEvents> {
  private readonly entries = new Map<string, ReaderEntry>();
  private closed = false;

  private constructor(private readonly lib: PcscLite) {
    super();
    lib.on('reader', (reader) => this.attach(reader));
    lib.on('error', (err: unknown) => this.fail(pcscError('PC/SC monitor', err)));
  }

  /** Opens a PC/SC context. Throws PCSC_UNAVAILABLE when pcscd is not running. */
  static open(): PcscService {
    let lib: PcscLite;
    try {
      lib = (require('pcsclite') as typeof pcsclite)();
    } catch (err) {
      throw pcscError('opening PC/SC', err);
    }
    return new PcscService(lib);
  }

  /** Readers seen so far with their last known card state. */
  readers(): ReaderInfo[] {
    return [...this.entries.values()].map((e) => ({ ...e.info }));
  }

  /**
   * Resolves with the readers once every attached reader has reported its state, or after `settleMs` when no
   * reader is attached at all (pcscd announces readers shortly after the context opens).
   */
  async listReaders(settleMs = 1000): Promise<ReaderInfo[]> {
    const deadline = Date.now() + settleMs;
    while (Date.now() < deadline) {
      if (this.entries.size > 0 && [...this.entries.values()].every((e) => e.known)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.readers();
  }

  /**
   * Waits until a reader whose name contains `match` (and that `accept` allows: the reader policy) holds a card;
   * resolves with that reader.
   */
  waitForCard(match = '', timeoutMs = 10_000, accept: (readerName: string) => boolean = () => true): Promise<ReaderInfo> {
    const wanted = (name: string): boolean => name.includes(match) && accept(name);
    const present = this.readers().find((r) => r.cardPresent && wanted(r.name));
    if (present) return Promise.resolve(present);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('card-inserted', onCard);
        reject(new KioskError('PCSC_TIMEOUT', `no card appeared in a reader matching "${match}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const onCard = (reader: ReaderInfo): void => {
        if (!wanted(reader.name)) return;
        clearTimeout(timer);
        this.off('card-inserted', onCard);
        resolve(reader);
      };
      this.on('card-inserted', onCard);
    });
  }

  /** Connects to the card in `readerName` (shared mode, T=1 preferred, T=0 accepted). */
  connect(readerName: string): Promise<PcscCardSession> {
    const entry = this.entries.get(readerName);
    if (!entry) {
      return Promise.reject(new KioskError('PCSC_NO_READER', `no reader named "${readerName}"; readers: ${[...this.entries.keys()].join(', ') || 'none'}`));
    }
    const { native } = entry;
    return new Promise((resolve, reject) => {
      native.connect({ share_mode: native.SCARD_SHARE_SHARED, protocol: native.SCARD_PROTOCOL_T0 | native.SCARD_PROTOCOL_T1 }, (err, protocol) => {
        if (err) reject(pcscError(`connecting to the card in "${readerName}"`, err));
        else resolve(new PcscCardSession(native, protocol, entry.info.atr ?? new Uint8Array(0), (ms) => this.removedWithin(readerName, ms)));
      });
    });
  }

  /** Whether the card in `readerName` is gone, or goes within `ms` (status events can trail a failed transmit). */
  removedWithin(readerName: string, ms: number): Promise<boolean> {
    if (!this.entries.get(readerName)?.info.cardPresent) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.off('card-removed', onRemoved);
        resolve(false);
      }, ms);
      const onRemoved = (name: string): void => {
        if (name !== readerName) return;
        clearTimeout(timer);
        this.off('card-removed', onRemoved);
        resolve(true);
      };
      this.on('card-removed', onRemoved);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.entries.values()) e.native.close();
    this.entries.clear();
    this.lib.close();
  }

  private attach(native: NativeReader): void {
    const entry: ReaderEntry = { native, info: { name: native.name, cardPresent: false, atr: undefined }, known: false };
    this.entries.set(native.name, entry);
    this.emit('reader-attached', native.name);
    native.on('status', (status: { state: number; atr?: Buffer }) => {
      const present = (status.state & native.SCARD_STATE_PRESENT) !== 0;
      const was = entry.info.cardPresent;
      entry.known = true;
      entry.info = { name: native.name, cardPresent: present, atr: present && status.atr?.length ? new Uint8Array(status.atr) : undefined };
      if (present && !was) this.emit('card-inserted', { ...entry.info });
      if (!present && was) this.emit('card-removed', native.name);
    });
    native.on('end', () => {
      if (this.entries.get(native.name) === entry) this.entries.delete(native.name);
      if (!this.closed) this.emit('reader-detached', native.name);
    });
    native.on('error', (err: unknown) => {
      if (!this.closed) this.fail(pcscError(`reader "${native.name}"`, err));
    });
  }

  private fail(err: KioskError): void {
    if (this.closed) return;
    // An 'error' event without a listener would crash the process; a service without listeners just logs nothing.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** An APDU session with the card in one reader. */
export class PcscCardSession implements ApduTransceiver {
  private open = true;
  /** T=0 needs GET RESPONSE / Le correction around each exchange; T=1 carries responses whole. */
  private readonly channel: ApduTransceiver;

  constructor(
    private readonly reader: NativeReader,
    /** Negotiated protocol (pcsclite's SCARD_PROTOCOL_T0 or _T1 value). */
    readonly protocol: number,
    readonly atr: Uint8Array,
    private readonly removedWithin: (ms: number) => Promise<boolean> = () => Promise.resolve(false),
  ) {
    const direct: ApduTransceiver = { transmit: (command) => this.exchange(command), close: () => Promise.resolve() };
    this.channel = protocol === reader.SCARD_PROTOCOL_T0 ? new T0GetResponseTransceiver(direct) : direct;
  }

  get protocolName(): 'T=0' | 'T=1' {
    return this.protocol === this.reader.SCARD_PROTOCOL_T0 ? 'T=0' : 'T=1';
  }

  transmit(command: Uint8Array): Promise<Uint8Array> {
    return this.channel.transmit(command);
  }

  private async exchange(command: Uint8Array): Promise<Uint8Array> {
    if (!this.open) throw new KioskError('CARD_TRANSMIT_FAILED', 'the card session is closed');
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        this.reader.transmit(Buffer.from(command), MAX_RESPONSE, this.protocol, (err, response) => {
          if (err) reject(pcscError('exchanging an APDU', err));
          else resolve(new Uint8Array(response));
        });
      });
    } catch (err) {
      // A card pulled mid-command often fails as "transaction failed" before PC/SC reports it gone: ask.
      if (isKioskError(err, 'CARD_TRANSMIT_FAILED') && (await this.removedWithin(CARD_GONE_GRACE_MS))) {
        throw new KioskError('CARD_REMOVED', `the card was removed during a command (${err.message})`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Ends the session with a warm reset of the card (SCARD_RESET_CARD). An eMRTD chip keeps its state between PC/SC
   * connections: left alone (SCARD_LEAVE_CARD) it stays inside the eMRTD application with the secure-messaging
   * keys of this session, so the next session cannot read EF.CardAccess (6A82, it lives at master-file level and
   * CCCD chips refuse SELECT MF) and the next terminal user would find a chip still open. The reset discards both.
   */
  close(): Promise<void> {
    if (!this.open) return Promise.resolve();
    this.open = false;
    return new Promise((resolve) => {
      // A disconnect error (card already gone) leaves nothing to release.
      this.reader.disconnect(this.reader.SCARD_RESET_CARD, () => resolve());
    });
  }
}
