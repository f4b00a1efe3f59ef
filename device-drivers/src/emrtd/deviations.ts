/**
 * Departures from ICAO 9303 that a chip showed and that the read tolerated. Chips of other makers (and emulators)
 * differ in small ways that do not weaken what is checked; each one we accept is named here, recorded once per read
 * with how often it happened, and shown by `kiosk-card read`, so an operator sees which card is not conformant and
 * a tolerance never goes unnoticed.
 */
export type DeviationCode =
  /** Protected responses without DO99: the status came from the unprotected trailer (the MAC covered DO87 only). */
  | 'sm-response-without-do99'
  /** A status word answered without secure messaging inside a session (e.g. 6A82 for a file that is not there). */
  | 'sm-unprotected-status'
  /** A READ BINARY past the end of a file answered 6282 with data but no MAC: reads ask for the TLV header first. */
  | 'read-past-end-unprotected'
  /** A file the chip has but that holds no bytes (or fewer than its TLV header announces). */
  | 'empty-file';

export interface ChipDeviation {
  code: DeviationCode;
  /** What the chip did, in words an operator can act on (no personal data). */
  message: string;
  /** How many times it happened during the read. */
  count: number;
}

/** Collects deviations, one entry per code, counting repeats. */
export class DeviationLog {
  /** The entries in the order first seen. The same array for the log's life, so a read result can hold it while the channel adds to it. */
  readonly entries: ChipDeviation[] = [];

  readonly record = (code: DeviationCode, message: string): void => {
    const entry = this.entries.find((e) => e.code === code);
    if (entry) entry.count++;
    else this.entries.push({ code, message, count: 1 });
  };
}
