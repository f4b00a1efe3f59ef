import { isKioskError } from '@kiosk/common';
import { decodeCommand, encodeResponse, type CommandApdu, type ResponseApdu } from '../../../src/smartcard/apdu.js';
import type { ApduTransceiver } from '../../../src/smartcard/transceiver.js';
import type { ChipAccessResult, ChipProtocol } from '../../../src/emrtd/chip-side.js';
import { BacChip, performBac } from '../../../src/emrtd/access/bac.js';
import { PaceChip, performPace } from '../../../src/emrtd/access/pace.js';
import type { PaceInfo } from '../../../src/emrtd/security-infos-types.js';
import { SecureMessagingTransceiver, type SecureMessaging } from '../../../src/emrtd/sm/secure-messaging.js';

export type { ChipProtocol };

const NONE = new Uint8Array(0);

/**
 * A minimal card for authentication tests: access control (BAC or PACE) in the clear, then under secure messaging
 * the AA / CA protocols it is given, SELECT (always 9000) and READ BINARY of one small file. Like a real chip it
 * wraps an answer with the session that was current when the command arrived, and only then adopts a session a
 * protocol returned (Chip Authentication re-keying).
 */
export class AuthTestCard implements ApduTransceiver {
  session: SecureMessaging | undefined;
  /** Plain commands, as unwrapped under secure messaging. */
  readonly commands: CommandApdu[] = [];
  readonly file = Uint8Array.from({ length: 64 }, (_, i) => (i * 11 + 3) & 0xff);

  constructor(
    private readonly access: ChipProtocol,
    private readonly protocols: readonly ChipProtocol[],
  ) {}

  async transmit(bytes: Uint8Array): Promise<Uint8Array> {
    const session = this.session;
    if (!session) {
      const command = decodeCommand(bytes);
      if (!this.access.handles(command)) return encodeResponse(NONE, 0x6982);
      const result = this.access.process(command);
      this.session = result.session;
      return encodeResponse(result.response.data, result.response.sw);
    }
    let command: CommandApdu;
    try {
      command = session.unwrapCommand(bytes);
    } catch (err) {
      // ICAO: on an SM error the chip answers 6987/6988 unprotected and forgets the session keys.
      this.session = undefined;
      if (isKioskError(err, 'CARD_SM_FAILED')) return encodeResponse(NONE, parseInt(String(err.details?.sw), 16));
      throw err;
    }
    this.commands.push(command);
    const protocol = this.protocols.find((p) => p.handles(command));
    const result: ChipAccessResult = protocol ? protocol.process(command) : { response: this.execute(command) };
    const answer = session.wrapResponse(result.response);
    if (result.session) this.session = result.session;
    return answer;
  }

  async close(): Promise<void> {}

  private execute(command: CommandApdu): ResponseApdu {
    switch (command.ins) {
      case 0xa4:
        return { data: NONE, sw: 0x9000 };
      case 0xb0: {
        const offset = (command.p1 << 8) | command.p2;
        if (offset >= this.file.length) return { data: NONE, sw: 0x6b00 };
        return { data: this.file.slice(offset, offset + (command.le ?? 256)), sw: 0x9000 };
      }
      default:
        return { data: NONE, sw: 0x6d00 };
    }
  }
}

// Synthetic CCCD-like holder: MRZ_information for BAC, CAN for PACE.
const MRZ_INFORMATION = '093000123693010543301052';
const CAN = '000123';
const PACE_INFO: PaceInfo = { kind: 'pace', protocol: '0.4.0.127.0.7.2.2.4.2.2', version: 2, parameterId: 13 };

export interface OpenCard {
  card: AuthTestCard;
  channel: SecureMessagingTransceiver;
}

/** A card with `protocols` behind an AES-128 SM session from PACE (brainpoolP256r1, CAN). */
export async function openWithPace(protocols: readonly ChipProtocol[]): Promise<OpenCard> {
  const card = new AuthTestCard(new PaceChip({ paceInfo: PACE_INFO, can: CAN }), protocols);
  const session = await performPace(card, { paceInfo: PACE_INFO, password: { kind: 'can', can: CAN } });
  return { card, channel: new SecureMessagingTransceiver(card, session) };
}

/** A card with `protocols` behind a 3DES SM session from BAC. */
export async function openWithBac(protocols: readonly ChipProtocol[]): Promise<OpenCard> {
  const card = new AuthTestCard(new BacChip(MRZ_INFORMATION), protocols);
  const session = await performBac(card, MRZ_INFORMATION);
  return { card, channel: new SecureMessagingTransceiver(card, session) };
}

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
