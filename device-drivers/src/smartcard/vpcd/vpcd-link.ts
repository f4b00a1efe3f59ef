import { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { KioskError } from '@kiosk/common';
import type { VirtualCard } from './virtual-card.js';

/**
 * Connects a virtual card to pcscd through the vsmartcard-vpcd reader driver. vpcd listens on TCP (35963 for
 * reader "Virtual PCD 00 00", 35964 for "... 00 01"); connecting inserts the card, closing removes it.
 * Framing: 2-byte big-endian length, then the payload. A 1-byte payload is a control message
 * (00 power off, 01 power on, 02 reset, 04 ATR request); anything longer is a command APDU to answer.
 */
export const VPCD_DEFAULT_PORT = 35963;

const CTRL_OFF = 0x00;
const CTRL_ON = 0x01;
const CTRL_RESET = 0x02;
const CTRL_ATR = 0x04;

export interface VpcdLinkOptions {
  host?: string;
  port?: number;
  /** Give up connecting after this many ms. */
  connectTimeoutMs?: number;
}

export interface VpcdLinkEvents {
  /** pcscd sent a command APDU and got this answer (for tracing). */
  apdu: [command: Uint8Array, response: Uint8Array];
  /** The link closed (card removed). */
  close: [];
  error: [Error];
}

export class VpcdLink extends EventEmitter<VpcdLinkEvents> {
  private buffer: Buffer = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly card: VirtualCard,
  ) {
    super();
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.emit('close');
    });
    socket.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  /** Inserts `card` into the vpcd reader at host:port. Resolves once the TCP link is up. */
  static connect(card: VirtualCard, options: VpcdLinkOptions = {}): Promise<VpcdLink> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? VPCD_DEFAULT_PORT;
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KioskError('VPCD_CONNECT_FAILED', `vpcd at ${host}:${port} did not accept the connection within ${options.connectTimeoutMs ?? 5000} ms`));
      }, options.connectTimeoutMs ?? 5000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new KioskError('VPCD_CONNECT_FAILED', `cannot connect to vpcd at ${host}:${port} (is pcscd running with vsmartcard-vpcd?): ${err.message}`, { cause: err }));
      });
      socket.connect(port, host, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new VpcdLink(socket, card));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Removes the card from the reader. */
  remove(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      this.socket.destroySoon();
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 2) {
      const length = this.buffer.readUInt16BE(0);
      if (this.buffer.length < 2 + length) break;
      const payload = new Uint8Array(this.buffer.subarray(2, 2 + length));
      this.buffer = this.buffer.subarray(2 + length);
      // Answers must leave in request order even when the card answers asynchronously.
      this.queue = this.queue.then(() => this.handle(payload)).catch((err: unknown) => {
        this.emit('error', err instanceof Error ? err : new Error(String(err)));
        this.socket.destroy();
      });
    }
  }

  private async handle(payload: Uint8Array): Promise<void> {
    if (payload.length === 1) {
      switch (payload[0]) {
        case CTRL_OFF:
          this.card.powerOff();
          return;
        case CTRL_ON:
        case CTRL_RESET:
          this.card.reset();
          return;
        case CTRL_ATR:
          this.send(this.card.atr);
          return;
        default:
          return; // unknown control byte: vpcd expects no answer
      }
    }
    const response = await this.card.process(payload);
    this.emit('apdu', payload, response);
    this.send(response);
  }

  private send(payload: Uint8Array): void {
    if (this.closed) return;
    const frame = Buffer.alloc(2 + payload.length);
    frame.writeUInt16BE(payload.length, 0);
    frame.set(payload, 2);
    this.socket.write(frame);
  }
}
