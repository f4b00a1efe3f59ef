import { encodeCommand, type CommandApdu } from '../../smartcard/apdu.js';
import type { ApduTransceiver } from '../../smartcard/transceiver.js';
import { decodeTlv, encodeTlv } from '../../encoding/tlv.js';
import { expectSuccess } from './status.js';

/** ISO 7816-4 instruction bytes of the file commands (B1: READ BINARY with an offset data object, DO54). */
export const INS_SELECT = 0xa4;
export const INS_READ_BINARY = 0xb0;
export const INS_READ_BINARY_ODD = 0xb1;

/** The eMRTD application (ICAO 9303-10 §3.1). */
export const EMRTD_AID = Uint8Array.from([0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01]);

/** SELECT the eMRTD application by AID, no response data (P2 0C). */
export async function selectApplication(card: ApduTransceiver, aid: Uint8Array = EMRTD_AID): Promise<void> {
  expectSuccess('SELECT application', await card.transmit(encodeCommand({ cla: 0, ins: INS_SELECT, p1: 0x04, p2: 0x0c, data: aid })));
}

/**
 * SELECT of an elementary file by its identifier under the current DF (P1 02), no response data (P2 0C); also
 * what Chip Authentication sends to prove the new session keys.
 */
export function selectFileCommand(fileId: number): CommandApdu {
  return { cla: 0, ins: INS_SELECT, p1: 0x02, p2: 0x0c, data: Uint8Array.of(fileId >> 8, fileId & 0xff) };
}

/**
 * SELECT an elementary file by its identifier under the current DF. We never select the MF first: CCCD chips
 * answer SELECT MF with 6D00, and EF.CardAccess is reachable directly.
 */
export async function selectFile(card: ApduTransceiver, fileId: number, name: string): Promise<void> {
  expectSuccess(`SELECT ${name}`, await card.transmit(encodeCommand(selectFileCommand(fileId))));
}

/** Largest offset READ BINARY (B0) can address in P1-P2; beyond it the odd INS B1 carries the offset in DO54. */
export const MAX_B0_OFFSET = 0x7fff;

/**
 * READ BINARY of the selected file at `offset`, asking for `length` bytes (1..65536; above 256 the command is
 * extended). Returns what the card gave, which may be fewer bytes at the end of the file (SW 6282 accepted).
 */
export async function readBinary(card: ApduTransceiver, offset: number, length: number, name: string): Promise<Uint8Array> {
  if (offset <= MAX_B0_OFFSET) {
    const cmd = encodeCommand({ cla: 0, ins: INS_READ_BINARY, p1: offset >> 8, p2: offset & 0xff, le: length });
    return expectSuccess(`READ BINARY ${name} at ${offset}`, await card.transmit(cmd), [0x9000, 0x6282]).data;
  }
  const offsetBytes = offset > 0xffff ? Uint8Array.of(offset >> 16, (offset >> 8) & 0xff, offset & 0xff) : Uint8Array.of(offset >> 8, offset & 0xff);
  // The answer wraps the content in DO53, so leave room for its header.
  const cmd = encodeCommand({ cla: 0, ins: INS_READ_BINARY_ODD, p1: 0, p2: 0, data: encodeTlv(0x54, offsetBytes), le: Math.min(65536, length + 4) });
  const data = expectSuccess(`READ BINARY ${name} at ${offset}`, await card.transmit(cmd), [0x9000, 0x6282]).data;
  // B1 answers wrap the content in DO53.
  return data[0] === 0x53 ? decodeTlv(data, 0).value : data;
}

/** READ BINARY by short file identifier (P1 = 80 | SFI): selects and reads in one command, offset 0..255. */
export async function readBinaryBySfi(card: ApduTransceiver, sfi: number, offset: number, length: number, name: string): Promise<Uint8Array> {
  const cmd = encodeCommand({ cla: 0, ins: INS_READ_BINARY, p1: 0x80 | sfi, p2: offset, le: length });
  return expectSuccess(`READ BINARY ${name} (SFI ${sfi.toString(16).toUpperCase()})`, await card.transmit(cmd), [0x9000, 0x6282]).data;
}
