import { KioskError } from '@kiosk/common';
import type { ParsedCertificate, TrustStore } from './trust-store.js';

/**
 * The test PKI is for tests. Its keys derive from a seed published in this repository, so anyone can mint a card
 * that chains to its CSCAs: outside simulated mode such a CSCA must never be a trust anchor. A CSCA counts as a test
 * anchor by fingerprint (the fixtures' CSCAs under their default seed; fixtures/test/pki checks this list) or by
 * its name (a "TEST" word in any attribute, the fixtures' mark for other seeds, or ICAO's test state UT).
 */
export const TEST_PKI_CSCA_FINGERPRINTS: ReadonlySet<string> = new Set([
  'd410f699487247b5f0d4c4808337bed1eef03a4865375750577c5611f59555dc', // csca
  'f3f621d5886a3447c9de2673ab5aeb8e2344ab26a0f9b62a296a5146edde6680', // unknown-csca
  '9dc086d9ebfcffd01f0574070f107ac78daf5e285f4068bfc2fbea50359329d6', // forged-csca
  '5279803a652ecd68dc437f2cc1f9a7b305dc245bb7a4b478b1f71f63bc58f786', // foreign-csca
  'efe05d8492b292d9d192c03d73e20aa7ab12f8d018b914fc211789ad00492f1b', // neighbour-csca
]);

const TEST_WORD = /(^|[^\p{L}\p{N}])TEST([^\p{L}\p{N}]|$)/iu;

/** Why `certificate` is a test anchor, or undefined when it is not one. */
export function testAnchorReason(certificate: ParsedCertificate): string | undefined {
  if (TEST_PKI_CSCA_FINGERPRINTS.has(certificate.fingerprint)) return 'it is a CSCA of the fixtures test PKI (by fingerprint)';
  if (certificate.subject.country === 'UT') return "it names ICAO's test state UT";
  if (TEST_WORD.test(certificate.subject.text)) return 'its name is marked TEST';
  return undefined;
}

/** The store's CSCAs that are test anchors, with why. */
export function testAnchorsIn(store: TrustStore): Array<{ fingerprint: string; subject: string; reason: string }> {
  return store.cscas().flatMap(({ certificate }) => {
    const reason = testAnchorReason(certificate);
    return reason ? [{ fingerprint: certificate.fingerprint, subject: certificate.subject.text, reason }] : [];
  });
}

/**
 * Refuses a trust store that holds a test anchor, naming each one and `remedy` (what the operator does about it).
 * Throws TRUST_TEST_ANCHOR.
 */
export function assertNoTestAnchors(store: TrustStore, where: string, remedy: string): void {
  const found = testAnchorsIn(store);
  if (found.length === 0) return;
  const list = found.map((a) => `${a.subject} (${a.fingerprint.slice(0, 16)}…: ${a.reason})`).join('; ');
  throw new KioskError('TRUST_TEST_ANCHOR', `${where} holds test-PKI CSCAs, which anyone can sign cards with: ${list}. ${remedy}`, {
    details: { fingerprints: found.map((a) => a.fingerprint) },
  });
}
