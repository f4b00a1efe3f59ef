import { decodeCommand, encodeCommand } from './apdu.js';
import type { ApduTransceiver } from './transceiver.js';

/**
 * T=0 cannot carry response data in the same exchange as command data: the card answers 61xx ("xx bytes waiting,
 * fetch them with GET RESPONSE") or 6Cxx ("wrong Le, resend with Le = xx"). Readers do not always resolve this, so
 * a T=0 session runs through this wrapper and callers see one complete response as on T=1.
 */
const MAX_CHAINED_RESPONSES = 256;

export class T0GetResponseTransceiver implements ApduTransceiver {
  constructor(private readonly inner: ApduTransceiver) {}

  async transmit(command: Uint8Array): Promise<Uint8Array> {
    let response = await this.inner.transmit(command);
    if (response.length === 2 && response[0] === 0x6c) {
      // Resend with the exact Le the card named (short form only: T=0 has no extended Le).
      const resent = { ...decodeCommand(command), le: response[1] || 256 };
      response = await this.inner.transmit(encodeCommand(resent));
    }
    const parts: Uint8Array[] = [];
    for (let i = 0; i < MAX_CHAINED_RESPONSES && response.length >= 2 && response[response.length - 2] === 0x61; i++) {
      parts.push(response.subarray(0, -2));
      const le = response[response.length - 1] || 256;
      // GET RESPONSE on the command's logical channel (CLA bits 0-1), without secure-messaging bits.
      response = await this.inner.transmit(encodeCommand({ cla: (command[0] as number) & 0x03, ins: 0xc0, p1: 0, p2: 0, le }));
    }
    if (parts.length === 0) return response;
    return new Uint8Array(Buffer.concat([...parts, response]));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
