import type { CommandApdu, ResponseApdu } from '../smartcard/apdu.js';
import type { SecureMessaging } from './sm/secure-messaging.js';

/**
 * What the chip sides of BAC, PACE, Active and Chip Authentication share, so that a virtual card (fixtures/src/card)
 * dispatches to any of them the same way. Neutral ground: no protocol owns these types.
 */

/** What the chip answers to one command, and the SM session once authentication succeeded. */
export interface ChipAccessResult {
  response: ResponseApdu;
  session?: SecureMessaging;
}

/** A protocol's chip side: which commands it takes, and its answer to one of them. */
export interface ChipProtocol {
  handles(command: CommandApdu): boolean;
  process(command: CommandApdu): ChipAccessResult;
}

/** An answer that changes no session. */
export function chipReply(sw: number, data: Uint8Array = new Uint8Array(0)): ChipAccessResult {
  return { response: { data, sw } };
}
