import { isKioskError } from '@kiosk/common';
import { bytesEqual } from '../encoding/bytes.js';
import { digest, verifySignerInfo, type CheckOutcome, type CheckResult } from './signature.js';
import { decodeTime } from '../encoding/der.js';
import { ID_SIGNING_TIME, parseSod, single, type SecurityObject } from './sod.js';
import { identifies, parseCertificate, signedBy, type ParsedCertificate, type ParsedCrl, type TrustedCsca, type TrustStore } from './trust-store.js';

/**
 * Passive Authentication (ICAO 9303-11 §5.1) as separate, explicit checks, and a decision under a policy. No single
 * library "verify" decides anything: every step (signed attributes, DS signature, chain, validity, key usage,
 * country, revocation, each data group hash) has its own outcome and reason.
 */

export type { CheckOutcome, CheckResult };

export interface DsChainResult extends CheckResult {
  /** The DS certificate was valid when it signed but has expired at the verification time (ICAO: the document is old). */
  documentSignerExpired: boolean;
  csca?: { fingerprint: string; subject: string; source: TrustedCsca['source'] };
}

/**
 * `needs-review`: nothing failed, but a gap remains that only a person can close (no clone detection at all, no
 * current CRL where the policy wants one, a foreign document configured to be taken without its CSCA). Such a
 * card is never shown or recorded as valid: the kiosk sends the citizen to staff.
 */
export type Decision = 'accept' | 'needs-review' | 'reject';

/** The signer of EF.SOD, kept for forensics (a forged card's DS names its forger's CSCA). No personal data. */
export interface DocumentSignerInfo {
  fingerprint: string;
  subject: string;
  issuer: string;
  serialNumber: string;
}

export interface Verdict {
  decision: Decision;
  policy: string;
  /** Why the decision is not a plain accept: each failed check, then each gap that needs review; each starts with its check's name and a colon. */
  reasons: string[];
  /** Gaps the policy accepts and records (an expired DS, no current CRL under the hospital policy). */
  notes: string[];
  checks: {
    sodSignature: CheckResult;
    dsChain: DsChainResult;
    crl: CheckResult;
    dataGroupHashes: CheckResult;
    activeAuthentication: CheckResult;
    chipAuthentication: CheckResult;
  };
  documentSigner: DocumentSignerInfo | undefined;
  /** The time the checks were made for, and the SOD's signing time when it had one. */
  at: Date;
  signingTime: Date | undefined;
}

/** What a policy does with a gap (a check that could not be made): refuse, send to staff, or accept and note it. */
export type GapHandling = 'reject' | 'review' | 'note';

/**
 * A DS that does not chain to a trusted CSCA is no gap a policy may tolerate: a forger makes every key (DS, AA, CA)
 * himself, so every other check passes on a forgery. Only documents of issuing states a deployment lists in
 * `unverifiableChainStates` (foreign documents whose CSCA it cannot obtain) go to review instead of rejection.
 */
export interface VerificationPolicy {
  name: string;
  /** No CRL of the CSCA, or none current. */
  noCurrentCrl: GapHandling;
  /** A DS certificate valid at signing but expired now (ICAO 9303-11 §5.1: normal for older documents). */
  expiredDocumentSigner: GapHandling;
  /** Chip Authentication not performed, Active Authentication passed (cloning still detected). */
  noChipAuthentication: GapHandling;
  /** Neither Chip nor Active Authentication performed: a cloned chip would pass. */
  noCloneDetection: GapHandling;
  /** ICAO 9303-3 issuing states taken without their CSCA, always as needs-review. Empty in every built-in policy. */
  unverifiableChainStates: readonly string[];
}

/** One-stop public-service counters: dossiers have legal effect, so a card without a current CRL goes to staff. */
export const PUBLIC_SERVICE_POLICY: VerificationPolicy = {
  name: 'public-service',
  noCurrentCrl: 'review',
  expiredDocumentSigner: 'note',
  noChipAuthentication: 'note',
  noCloneDetection: 'review',
  unverifiableChainStates: [],
};

/** Hospital self-registration: a queue ticket and an insurance lookup; a missing CRL is noted, not sent to staff. */
export const HOSPITAL_POLICY: VerificationPolicy = {
  name: 'hospital',
  noCurrentCrl: 'note',
  expiredDocumentSigner: 'note',
  noChipAuthentication: 'note',
  noCloneDetection: 'review',
  unverifiableChainStates: [],
};

/** Notaries: every check must pass. */
export const NOTARY_POLICY: VerificationPolicy = {
  name: 'notary',
  noCurrentCrl: 'reject',
  expiredDocumentSigner: 'reject',
  noChipAuthentication: 'reject',
  noCloneDetection: 'reject',
  unverifiableChainStates: [],
};

export const BUILT_IN_POLICIES: Readonly<Record<string, VerificationPolicy>> = {
  'public-service': PUBLIC_SERVICE_POLICY,
  hospital: HOSPITAL_POLICY,
  notary: NOTARY_POLICY,
};

export interface ChipCheckInput {
  outcome: CheckOutcome;
  reason?: string;
}

export interface VerifyDocumentInput {
  /** The files read, by LDS name: 'EF.SOD', 'DG1', ... */
  files: ReadonlyMap<string, Uint8Array>;
  /** The MRZ issuing state (ICAO 9303-3 code, e.g. VNM). */
  issuingState?: string;
  trust: TrustStore;
  at?: Date;
  policy: VerificationPolicy;
  activeAuthentication?: ChipCheckInput;
  chipAuthentication?: ChipCheckInput;
}

/** ICAO 9303-3 issuing state codes → ISO 3166-1 alpha-2, as CSCA certificates name countries. UTO is ICAO's test state. */
const ALPHA2_BY_ISSUING_STATE: Readonly<Record<string, string>> = {
  VNM: 'VN',
  UTO: 'UT',
  D: 'DE',
  DEU: 'DE',
  KHM: 'KH',
  LAO: 'LA',
  THA: 'TH',
  CHN: 'CN',
  KOR: 'KR',
  JPN: 'JP',
  SGP: 'SG',
  MYS: 'MY',
  FRA: 'FR',
  GBR: 'GB',
  USA: 'US',
  PHL: 'PH',
  IDN: 'ID',
  MMR: 'MM',
  BRN: 'BN',
  AUS: 'AU',
  IND: 'IN',
  RUS: 'RU',
};

/** The ICAO issuing states this verifier can match to a certificate country (configuration is validated against it). */
export const KNOWN_ISSUING_STATES: readonly string[] = Object.keys(ALPHA2_BY_ISSUING_STATE);

const check = (outcome: CheckOutcome, reason: string): CheckResult => ({ outcome, reason });
const malformed = (err: unknown): boolean => isKioskError(err, 'LDS_MALFORMED') || isKioskError(err, 'TLV_MALFORMED');
const chipCheck = (input: ChipCheckInput | undefined, what: string): CheckResult =>
  input ? check(input.outcome, input.reason ?? `${what} ${input.outcome}`) : check('not-possible', `${what} was not performed`);

export function verifyDocument(input: VerifyDocumentInput): Verdict {
  const at = input.at ?? new Date();
  const activeAuthentication = chipCheck(input.activeAuthentication, 'Active Authentication');
  const chipAuthentication = chipCheck(input.chipAuthentication, 'Chip Authentication');
  const unverified = (reason: string): Verdict => {
    const notPossible = check('not-possible', 'EF.SOD unusable');
    return decide(input.policy, {
      at,
      signingTime: undefined,
      checks: { sodSignature: check('failed', reason), dsChain: { ...notPossible, documentSignerExpired: false }, crl: notPossible, dataGroupHashes: notPossible, activeAuthentication, chipAuthentication },
      documentSigner: undefined,
    }, input.issuingState);
  };
  const sodBytes = input.files.get('EF.SOD');
  if (!sodBytes) return unverified('EF.SOD was not read');
  let sod: SecurityObject;
  try {
    sod = parseSod(sodBytes);
  } catch (err) {
    if (isKioskError(err, 'LDS_MALFORMED')) return unverified(`EF.SOD is malformed: ${err.message}`);
    throw err;
  }
  const signingTime = readSigningTime(sod);
  const dataGroupHashes = checkDataGroupHashes(sod, input.files);
  const dsDer = sod.certificates.find((der) => {
    try {
      return identifies(sod.signerInfo.sid, parseCertificate(der));
    } catch (err) {
      // A malformed certificate in the SOD is not the signer's; anything else is a bug and must surface.
      if (malformed(err)) return false;
      throw err;
    }
  });
  if (!dsDer) {
    const missing = check('not-possible', 'EF.SOD does not carry the Document Signer certificate its SignerInfo names');
    const checks = { sodSignature: missing, dsChain: { ...missing, documentSignerExpired: false }, crl: missing, dataGroupHashes, activeAuthentication, chipAuthentication };
    return decide(input.policy, { at, signingTime, checks, documentSigner: undefined }, input.issuingState);
  }
  let ds: ParsedCertificate;
  try {
    ds = parseCertificate(dsDer);
  } catch (err) {
    if (isKioskError(err, 'LDS_MALFORMED')) return unverified(`Document Signer certificate is malformed: ${err.message}`);
    throw err;
  }
  const sodSignature = signatureCheck(sod, ds.spki);
  const chain = checkChain(ds, input, at, signingTime ?? at);
  const crl = chain.issuer ? checkCrl(ds, chain.issuer, input.trust.crls(), at) : check('not-possible', 'no trusted CSCA to check revocation against');
  const documentSigner: DocumentSignerInfo = { fingerprint: ds.fingerprint, subject: ds.subject.text, issuer: ds.issuer.text, serialNumber: ds.serialNumber.toString(16) };
  const checks = { sodSignature, dsChain: chain.result, crl, dataGroupHashes, activeAuthentication, chipAuthentication };
  return decide(input.policy, { at, signingTime, checks, documentSigner }, input.issuingState);
}

/** A signed attribute that does not decode (a forged or damaged SOD) fails the signature check instead of ending the verification. */
function signatureCheck(sod: SecurityObject, spki: Uint8Array): CheckResult {
  try {
    return verifySignerInfo(sod, spki);
  } catch (err) {
    if (isKioskError(err, 'LDS_MALFORMED')) return check('failed', `EF.SOD signed attributes are malformed: ${err.message}`);
    throw err;
  }
}

function readSigningTime(sod: SecurityObject): Date | undefined {
  const value = sod.signerInfo.attributes.get(ID_SIGNING_TIME)?.[0];
  if (!value) return undefined;
  try {
    const tlv = single(value, value[0] ?? 0, 'signingTime');
    return decodeTime(tlv);
  } catch (err) {
    if (malformed(err)) return undefined;
    throw err;
  }
}

function checkDataGroupHashes(sod: SecurityObject, files: ReadonlyMap<string, Uint8Array>): CheckResult {
  const problems: string[] = [];
  const verified: number[] = [];
  for (const [name, bytes] of files) {
    const match = /^DG(\d{1,2})$/.exec(name);
    if (!match) continue;
    const number = Number(match[1]);
    const expected = sod.lds.dataGroupHashes.get(number);
    if (!expected) problems.push(`${name} was read but EF.SOD does not hash it`);
    else if (!bytesEqual(digest(sod.lds.hash, bytes), expected)) problems.push(`${name} does not match its ${sod.lds.hash} hash in EF.SOD`);
    else verified.push(number);
  }
  if (problems.length > 0) return check('failed', problems.join('; '));
  if (verified.length === 0) return check('not-possible', 'no data group was read');
  return check('passed', `${sod.lds.hash} hashes of ${verified.sort((a, b) => a - b).map((n) => `DG${n}`).join(', ')} match`);
}

const within = (c: ParsedCertificate, t: Date): boolean => c.notBefore <= t && t <= c.notAfter;

/** The ISO 3166-1 alpha-2 country of an MRZ issuing state, or undefined for a state this table does not know. */
function countryOfIssuingState(issuingState: string): string | undefined {
  return ALPHA2_BY_ISSUING_STATE[normalizeIssuingState(issuingState)];
}

const normalizeIssuingState = (state: string): string => state.replace(/</g, '').toUpperCase();

/**
 * The country rule, checked on the DS itself before any CSCA is looked up: the DS issuer must name a country and it
 * must be the MRZ issuing state's. A forger who names a CSCA nobody trusts still meets this rule.
 */
function countryProblems(ds: ParsedCertificate, issuingState: string | undefined): string[] {
  const problems: string[] = [];
  const dsCountry = ds.issuer.country;
  if (!dsCountry) problems.push('the DS issuer names no country');
  if (issuingState === undefined) return problems;
  const state = normalizeIssuingState(issuingState);
  const alpha2 = countryOfIssuingState(state);
  if (!alpha2) problems.push(`issuing state ${state} has no known country code`);
  else if (dsCountry && dsCountry !== alpha2) problems.push(`DS issuer country ${dsCountry} does not match MRZ issuing state ${state} (${alpha2})`);
  return problems;
}

/**
 * DS → trusted CSCA. 'failed' when a country rule is broken, when a CSCA of the issuer's name exists but did not sign
 * the DS (a look-alike), or on validity and key usage; 'not-possible' when no trusted CSCA has the issuer's name,
 * which no built-in policy accepts (see VerificationPolicy).
 */
function checkChain(ds: ParsedCertificate, input: VerifyDocumentInput, at: Date, signedAt: Date): { result: DsChainResult; issuer?: ParsedCertificate } {
  const fail = (reason: string, outcome: CheckOutcome = 'failed') => ({ result: { outcome, reason, documentSignerExpired: false } });
  const countries = countryProblems(ds, input.issuingState);
  const named = input.trust.cscas().filter((c) => c.certificate.subject.canonical === ds.issuer.canonical);
  if (named.length === 0) {
    const sameCountry = input.trust.cscas().filter((c) => ds.issuer.country !== undefined && c.certificate.subject.country === ds.issuer.country);
    const known = sameCountry.length > 0 ? `; the trusted CSCAs of ${ds.issuer.country ?? ''} are ${sameCountry.map((c) => c.certificate.subject.text).join(' | ')}` : '';
    const unchained = `the Document Signer's issuer (${ds.issuer.text}) is not a CSCA in the trust store, so the card is not proven genuine: a forgery, or the trust store lacks the issuing country's CSCA${known}`;
    return countries.length > 0 ? fail(`${countries.join('; ')}; ${unchained}`) : fail(unchained, 'not-possible');
  }
  // Same name, other key: a look-alike CSCA, which is a failure and not a gap in the trust store.
  const candidates = input.trust.issuersOf(ds);
  if (candidates.length === 0) return fail([...countries, 'the DS authority key identifier names none of the trusted CSCAs of its issuer name'].join('; '));
  const trusted = candidates.find((c) => signedBy(ds, c.certificate).outcome === 'passed');
  if (!trusted) {
    const reasons = candidates.map((c) => signedBy(ds, c.certificate).reason);
    return fail([...countries, `the DS certificate is not signed by any trusted CSCA of that name (${reasons.join('; ')})`].join('; '));
  }
  const csca = trusted.certificate;
  const problems = [...countries];
  if (!within(ds, signedAt)) problems.push(`DS certificate not valid at signing time ${signedAt.toISOString()}`);
  if (!within(csca, signedAt)) problems.push(`CSCA certificate not valid at signing time ${signedAt.toISOString()}`);
  if (!within(csca, ds.notBefore)) problems.push('CSCA certificate not valid when the DS certificate was issued');
  if (!ds.keyUsage?.digitalSignature) problems.push('DS certificate lacks key usage digitalSignature');
  if (!csca.keyUsage?.keyCertSign) problems.push('CSCA certificate lacks key usage keyCertSign');
  if (ds.issuer.country !== csca.subject.country) problems.push(`DS issuer country ${ds.issuer.country ?? 'none'} differs from the CSCA's ${csca.subject.country ?? 'none'}`);
  const source = { fingerprint: csca.fingerprint, subject: csca.subject.text, source: trusted.source };
  if (problems.length > 0) return { result: { outcome: 'failed', reason: problems.join('; '), documentSignerExpired: false, csca: source }, issuer: csca };
  const documentSignerExpired = !within(ds, at);
  const reason = `DS certificate signed by trusted CSCA ${csca.fingerprint.slice(0, 16)}…; valid at signing${documentSignerExpired ? `, expired ${ds.notAfter.toISOString()}` : ' and now'}`;
  return { result: { outcome: 'passed', reason, documentSignerExpired, csca: source }, issuer: csca };
}

/** Revocation by the CSCA's own CRLs: a correctly signed CRL listing the DS fails it, a current one without it passes. */
function checkCrl(ds: ParsedCertificate, csca: ParsedCertificate, crls: readonly ParsedCrl[], at: Date): CheckResult {
  const signed = crls.filter((crl) => crl.issuer.canonical === csca.subject.canonical && signedBy(crl, csca).outcome === 'passed');
  if (signed.length === 0) return check('not-possible', 'no CRL signed by the CSCA is in the trust store');
  const revoked = signed.map((crl) => crl.revoked.get(ds.serialNumber.toString())).find((date) => date !== undefined);
  if (revoked) return check('failed', `DS certificate revoked on ${revoked.toISOString()}`);
  const current = signed.filter((crl) => crl.thisUpdate <= at && (crl.nextUpdate === undefined || at <= crl.nextUpdate));
  if (current.length === 0) return check('not-possible', 'the CSCA CRLs in the trust store are out of date');
  return check('passed', 'DS certificate not on a current CRL of its CSCA');
}

type Undecided = Omit<Verdict, 'decision' | 'policy' | 'reasons' | 'notes'>;

function decide(policy: VerificationPolicy, verdict: Undecided, issuingState: string | undefined): Verdict {
  const { checks } = verdict;
  const rejects: string[] = [];
  const reviews: string[] = [];
  const notes: string[] = [];
  const handle = (handling: GapHandling, reason: string) => (handling === 'reject' ? rejects : handling === 'review' ? reviews : notes).push(reason);
  for (const [name, result] of Object.entries(checks)) if (result.outcome === 'failed') rejects.push(`${name}: ${result.reason}`);
  if (checks.sodSignature.outcome === 'not-possible') rejects.push(`sodSignature: ${checks.sodSignature.reason}`);
  if (checks.dataGroupHashes.outcome === 'not-possible') rejects.push(`dataGroupHashes: ${checks.dataGroupHashes.reason}`);
  if (checks.dsChain.outcome === 'not-possible') {
    const state = issuingState === undefined ? undefined : normalizeIssuingState(issuingState);
    if (state !== undefined && policy.unverifiableChainStates.includes(state)) {
      reviews.push(`dsChain: documents of ${state} are taken without their CSCA by configuration, never as verified: staff must examine the document (${checks.dsChain.reason})`);
    } else rejects.push(`dsChain: ${checks.dsChain.reason}`);
  }
  // Without a verified chain there is no CSCA whose CRL could be missing: the chain's reason already says it all.
  if (checks.crl.outcome === 'not-possible' && checks.dsChain.outcome === 'passed') handle(policy.noCurrentCrl, `crl: ${checks.crl.reason}`);
  if (checks.dsChain.outcome === 'passed' && checks.dsChain.documentSignerExpired) handle(policy.expiredDocumentSigner, `dsChain: ${checks.dsChain.reason}`);
  if (checks.chipAuthentication.outcome === 'not-possible') {
    if (checks.activeAuthentication.outcome === 'not-possible') {
      handle(policy.noCloneDetection, 'cloneDetection: neither Chip nor Active Authentication was performed: a cloned chip would pass');
    } else handle(policy.noChipAuthentication, `chipAuthentication: ${checks.chipAuthentication.reason}`);
  }
  const decision = rejects.length > 0 ? 'reject' : reviews.length > 0 ? 'needs-review' : 'accept';
  return { decision, policy: policy.name, reasons: [...rejects, ...reviews], notes, ...verdict };
}
