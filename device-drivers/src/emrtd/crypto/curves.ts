import { randomBytes } from 'node:crypto';
import { weierstrass, type WeierstrassPoint, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import { brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 } from '@noble/curves/misc.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';

/**
 * Elliptic-curve domain parameters by the standardized domain parameter id of ICAO 9303-11 §9.5.1 (the
 * parameterId of PACEInfo), and the uncompressed point encoding 04 || X || Y that PACE public keys use.
 */
export type EcPoint = WeierstrassPoint<bigint>;

export interface EcDomain {
  parameterId: number;
  name: string;
  Point: WeierstrassPointCons<bigint>;
  /** Bytes of a field element (X, Y, shared secret). */
  fieldSize: number;
  /** Order n of the generator. */
  order: bigint;
}

// RFC 5639 §3.5; @noble/curves ships brainpool 256/384/512 but not 320.
const brainpoolP320r1 = weierstrass({
  p: 0xd35e472036bc4fb7e13c785ed201e065f98fcfa6f6f40def4f92b9ec7893ec28fcd412b1f1b32e27n,
  a: 0x3ee30b568fbab0f883ccebd46d3f3bb8a2a73513f5eb79da66190eb085ffa9f492f375a97d860eb4n,
  b: 0x520883949dfdbc42d3ad198640688a6fe13f41349554b49acc31dccd884539816f5eb4ac8fb1f1a6n,
  Gx: 0x43bd7e9afb53d8b85289bcc48ee5bfe6f20137d10a087eb6e7871e2a10a599c710af8d0d39e20611n,
  Gy: 0x14fdd05545ec1cc8ab4093247f77275e0743ffed117182eaa9c77877aaac6ac7d35245d1692e8ee1n,
  n: 0xd35e472036bc4fb7e13c785ed201e065f98fcfa5b68f12a32d482ec7ee8658e98691555b44c59311n,
  h: 1n,
});

function domain(parameterId: number, name: string, Point: WeierstrassPointCons<bigint>): EcDomain {
  return { parameterId, name, Point, fieldSize: Point.Fp.BYTES, order: Point.Fn.ORDER };
}

const DOMAINS: ReadonlyMap<number, EcDomain> = new Map(
  [
    domain(12, 'NIST P-256', p256.Point),
    domain(13, 'brainpoolP256r1', brainpoolP256r1.Point),
    domain(14, 'brainpoolP320r1', brainpoolP320r1),
    domain(15, 'NIST P-384', p384.Point),
    domain(16, 'brainpoolP384r1', brainpoolP384r1.Point),
    domain(17, 'brainpoolP512r1', brainpoolP512r1.Point),
    domain(18, 'NIST P-521', p521.Point),
  ].map((d) => [d.parameterId, d]),
);

/** The elliptic-curve domain of a standardized parameter id (12..18), or undefined for DH groups and unknown ids. */
/** Named-curve OIDs of the ICAO standardized domain parameter ids implemented here (9303-11 §9.5.1). */
export const CURVE_OID_BY_PARAMETER_ID: ReadonlyMap<number, string> = new Map([
  [12, '1.2.840.10045.3.1.7'],
  [13, '1.3.36.3.3.2.8.1.1.7'],
  [14, '1.3.36.3.3.2.8.1.1.9'],
  [15, '1.3.132.0.34'],
  [16, '1.3.36.3.3.2.8.1.1.11'],
  [17, '1.3.36.3.3.2.8.1.1.13'],
  [18, '1.3.132.0.35'],
]);

export function ecDomainById(parameterId: number): EcDomain | undefined {
  return DOMAINS.get(parameterId);
}

export function encodePoint(point: EcPoint): Uint8Array {
  return point.toBytes(false);
}

/**
 * Decodes an uncompressed point received from the peer; undefined unless it is exactly 04 || X || Y of this
 * curve, lies on the curve and is not the point at infinity (checks that keep invalid-curve attacks out).
 */
export function decodePoint(domain: EcDomain, bytes: Uint8Array): EcPoint | undefined {
  if (bytes.length !== 1 + 2 * domain.fieldSize || bytes[0] !== 0x04) return undefined;
  try {
    const point = domain.Point.fromBytes(bytes);
    point.assertValidity();
    return point.is0() ? undefined : point;
  } catch {
    return undefined;
  }
}

/** A uniformly distributed private scalar in [1, n-1] (64 extra random bits make the modular bias negligible). */
export function randomScalar(domain: EcDomain): bigint {
  return (bytesToNumberBE(randomBytes(domain.fieldSize + 8)) % (domain.order - 1n)) + 1n;
}

/** A private scalar given as big-endian bytes (injected keys), checked to be in [1, n-1]. */
export function scalarFromBytes(domain: EcDomain, bytes: Uint8Array): bigint {
  const k = bytesToNumberBE(bytes);
  if (k < 1n || k >= domain.order) throw new RangeError(`private scalar out of range for ${domain.name}`);
  return k;
}

/** The x coordinate as a big-endian field element: the ECDH shared secret of ICAO 9303-11 §9.7.1. */
export function xCoordinate(domain: EcDomain, point: EcPoint): Uint8Array {
  return numberToBytesBE(point.toAffine().x, domain.fieldSize);
}
