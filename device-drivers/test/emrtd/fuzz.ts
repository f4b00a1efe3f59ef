import fc from 'fast-check';
import { isKioskError, type ErrorCode } from '@kiosk/common';

/** Shared fuzzing pieces for the LDS parsers: a valid file cut, overwritten or padded at random places. */
export const mutationsOf = (valid: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.nat({ max: valid.length - 1 }).map((n) => valid.slice(0, n)),
    fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
      const copy = valid.slice();
      for (const [at, b] of edits) copy[at] = b;
      return copy;
    }),
    fc.tuple(fc.nat({ max: valid.length }), fc.uint8Array({ minLength: 1, maxLength: 6 })).map(([at, extra]) => Uint8Array.from([...valid.subarray(0, at), ...extra, ...valid.subarray(at)])),
  );

/** A property body: `parse` either returns or throws a KioskError with one of `codes` (structure errors by default). */
export function onlyTypedErrors(parse: (bytes: Uint8Array) => unknown, codes: ErrorCode[] = ['TLV_MALFORMED', 'LDS_MALFORMED']): (bytes: Uint8Array) => void {
  return (bytes) => {
    try {
      parse(bytes);
    } catch (err) {
      if (!codes.some((code) => isKioskError(err, code))) throw err;
    }
  };
}
