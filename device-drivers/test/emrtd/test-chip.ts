import { isKioskError } from '@kiosk/common';
import { decodeCommand, encodeResponse, type CommandApdu, type ResponseApdu } from '../../src/smartcard/apdu.js';
import type { ApduTransceiver } from '../../src/smartcard/transceiver.js';
import type { BacChip } from '../../src/emrtd/access/bac.js';
import type { PaceChip } from '../../src/emrtd/access/pace.js';
import type { SecureMessaging } from '../../src/emrtd/sm/secure-messaging.js';

/**
 * A minimal chip for terminal-against-chip tests: BAC or PACE through the chip-side classes, then secure
 * messaging over one transparent file that READ BINARY (B0) reads and UPDATE BINARY (D6) writes.
 */
export class TestChip implements ApduTransceiver {
  session: SecureMessaging | undefined;
  file: Uint8Array;
  /** Protected commands as received, for asserting on their encoding. */
  readonly received: Uint8Array[] = [];
  /** Plain commands after unwrapping. */
  readonly commands: CommandApdu[] = [];

  constructor(
    private readonly access: BacChip | PaceChip,
    fileSize = 70_000,
  ) {
    this.file = Uint8Array.from({ length: fileSize }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
  }

  async transmit(bytes: Uint8Array): Promise<Uint8Array> {
    this.received.push(bytes);
    if (this.session) {
      let command: CommandApdu;
      try {
        command = this.session.unwrapCommand(bytes);
      } catch (err) {
        // ICAO: on an SM error the chip answers 6987/6988 unprotected and forgets the session keys.
        this.session = undefined;
        if (isKioskError(err, 'CARD_SM_FAILED')) return encodeResponse(new Uint8Array(0), parseInt(String(err.details?.sw), 16));
        throw err;
      }
      this.commands.push(command);
      return this.session.wrapResponse(this.execute(command));
    }
    const command = decodeCommand(bytes);
    if (!this.access.handles(command)) return encodeResponse(new Uint8Array(0), 0x6982);
    const result = this.access.process(command);
    this.session = result.session;
    return encodeResponse(result.response.data, result.response.sw);
  }

  async close(): Promise<void> {}

  private execute(command: CommandApdu): ResponseApdu {
    const none = new Uint8Array(0);
    const offset = (command.p1 << 8) | command.p2;
    switch (command.ins) {
      case 0xa4:
        return { data: none, sw: command.data?.[1] === 0x0b ? 0x6a82 : 0x9000 };
      case 0xb0: {
        if (offset >= this.file.length) return { data: none, sw: 0x6b00 };
        const data = this.file.slice(offset, offset + (command.le ?? 256));
        return { data, sw: data.length < (command.le ?? 256) ? 0x6282 : 0x9000 };
      }
      case 0xd6:
        this.file.set(command.data ?? none, offset);
        return { data: none, sw: 0x9000 };
      default:
        return { data: none, sw: 0x6d00 };
    }
  }
}

/** Passes commands through and flips one bit of the response to command number `target` (0-based). */
export class BitFlippingTransceiver implements ApduTransceiver {
  private count = 0;

  constructor(
    private readonly inner: ApduTransceiver,
    private readonly target: number,
    private readonly byteFromEnd: number,
  ) {}

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    const response = await this.inner.transmit(command);
    if (this.count++ !== this.target) return response;
    const flipped = response.slice();
    const index = flipped.length - 1 - this.byteFromEnd;
    flipped[index] = (flipped[index] as number) ^ 0x10;
    return flipped;
  }

  async close(): Promise<void> {}
}
