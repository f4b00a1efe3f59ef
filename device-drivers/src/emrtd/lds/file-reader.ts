import { KioskError, isKioskError } from '@kiosk/common';
import type { ApduTransceiver } from '../../smartcard/transceiver.js';
import { readBinary, readBinaryBySfi, selectFile } from '../iso7816/file-commands.js';
import { CardStatusError, isStatus } from '../iso7816/status.js';
import { concatBytes } from '../../encoding/bytes.js';
import { decodeHeader } from '../../encoding/tlv.js';

/** An elementary file to read: its name for messages, its file identifier, and its short file identifier. */
export interface EfRef {
  name: string;
  fileId: number;
  sfi?: number | undefined;
}

/**
 * How to read: decided once per session from the ATR and the secure-messaging cipher, and adjusted when the card
 * refuses something (no extended length, no SFI), so later files do not pay for the same refusal.
 */
export interface ReadPlan {
  /** Use extended-length READ BINARY (Le up to `extendedReadLength`). */
  extendedLength: boolean;
  extendedReadLength: number;
  /** Largest short read whose protected answer still fits 256 bytes (see `maxShortRead`). */
  shortReadLength: number;
  /** Read the first chunk by SFI (select + read in one APDU). */
  useSfi: boolean;
  /**
   * Never ask for more than a file holds: the first read asks only for the TLV header (4 bytes, then 6 if the
   * length needs them). For chips that answer a read past the end without a MAC (see UnprotectedResponseError).
   */
  neverPastEnd?: boolean;
}

/**
 * The largest plain READ BINARY length whose secure-messaging answer fits a short response (256 bytes): DO87
 * (3 header bytes + padding indicator + data padded to the block) + DO99 (4) + DO8E (10). 3DES: 231, AES: 223;
 * without SM the whole 256.
 */
export function maxShortRead(blockSize: 8 | 16 | undefined): number {
  if (blockSize === undefined) return 256;
  const room = 256 - 4 - 10 - 4;
  const padded = room - (room % blockSize);
  return padded - 1;
}

export function defaultReadPlan(options: { extendedLength: boolean | undefined; blockSize: 8 | 16 | undefined }): ReadPlan {
  return {
    extendedLength: options.extendedLength === true,
    // Offsets above 32767 need the odd-INS READ BINARY, so one extended read covers up to 32 KiB of a file.
    extendedReadLength: 0x8000,
    shortReadLength: maxShortRead(options.blockSize),
    useSfi: true,
  };
}

export interface FileProgress {
  file: string;
  bytesRead: number;
  /** Known after the first chunk (from the file's TLV header). */
  totalBytes: number | undefined;
}

/** Thrown when a read stops part-way; carries what was read so a new session can resume at that offset. */
export class PartialReadError extends Error {
  constructor(
    readonly file: string,
    readonly bytes: Uint8Array,
    override readonly cause: unknown,
  ) {
    super(`${file}: read stopped after ${bytes.length} bytes`);
    this.name = 'PartialReadError';
  }
}

function totalFromHeader(bytes: Uint8Array): number | undefined {
  try {
    const { length, headerLength } = decodeHeader(bytes, 0);
    return headerLength + length;
  } catch (err) {
    if (isKioskError(err, 'TLV_MALFORMED') && bytes.length < 6) return undefined; // header not complete yet
    throw err;
  }
}

/** SWs by which a card says it does not do SFI reads or extended lengths here. */
const SFI_REFUSED = [0x6a82, 0x6a86, 0x6b00, 0x6986, 0x6d00, 0x6981];
const LENGTH_REFUSED = [0x6700];

/**
 * Reads a whole EF (a BER-TLV file) with as few APDUs as the card allows: the first chunk by SFI (no separate
 * SELECT) and as large as the plan permits, the total length from the TLV header of that chunk, then the rest.
 * `resume` continues a read that stopped (after the caller has re-established secure messaging).
 */
export async function readElementaryFile(
  card: ApduTransceiver,
  ef: EfRef,
  plan: ReadPlan,
  onProgress?: (p: FileProgress) => void,
  resume?: Uint8Array,
): Promise<Uint8Array> {
  let bytes = resume ?? new Uint8Array(0);
  let total = bytes.length > 0 ? totalFromHeader(bytes) : undefined;
  const chunkLength = (): number => {
    const max = plan.extendedLength ? plan.extendedReadLength : plan.shortReadLength;
    if (total === undefined) return plan.neverPastEnd ? Math.min(max, (bytes.length < 4 ? 4 : 6) - bytes.length) : max;
    return Math.min(max, total - bytes.length);
  };

  const readChunk = async (first: boolean): Promise<Uint8Array> => {
    let length = chunkLength();
    for (;;) {
      try {
        if (first && bytes.length === 0 && plan.useSfi && ef.sfi !== undefined) {
          try {
            return await readBinaryBySfi(card, ef.sfi, 0, length, ef.name);
          } catch (err) {
            if (!isStatus(err, ...SFI_REFUSED)) throw err;
            plan.useSfi = false;
          }
        }
        if (first) await selectFile(card, ef.fileId, ef.name);
        first = false;
        return await readBinary(card, bytes.length, length, ef.name);
      } catch (err) {
        if (err instanceof CardStatusError && (err.sw & 0xff00) === 0x6c00 && (err.sw & 0xff) > 0) {
          length = err.sw & 0xff; // the card names the exact length it can give
          continue;
        }
        if (plan.extendedLength && isStatus(err, ...LENGTH_REFUSED)) {
          plan.extendedLength = false;
          length = chunkLength();
          continue;
        }
        throw err;
      }
    }
  };

  let first = true;
  try {
    while (total === undefined || bytes.length < total) {
      const chunk = await readChunk(first);
      first = false;
      if (chunk.length === 0) break;
      bytes = concatBytes(bytes, chunk);
      total ??= totalFromHeader(bytes);
      if (total !== undefined && bytes.length > total) bytes = bytes.slice(0, total);
      onProgress?.({ file: ef.name, bytesRead: bytes.length, totalBytes: total });
    }
  } catch (err) {
    if (bytes.length > 0 && !(err instanceof CardStatusError)) throw new PartialReadError(ef.name, bytes, err);
    throw err;
  }
  if (total === undefined || bytes.length < total) {
    throw new KioskError('LDS_MALFORMED', `${ef.name}: the file ended after ${bytes.length} of the ${total ?? '?'} bytes its header announces`);
  }
  return bytes;
}
