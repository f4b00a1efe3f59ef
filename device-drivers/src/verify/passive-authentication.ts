import { isKioskError } from '@kiosk/common';
import { bytesEqual } from '../emrtd/bytes.js';
import { digest, verifySignerInfo, type CheckOutcome, type CheckResult } from './signature.js';
import { decodeTime, ID_SIGNING_TIME, parseSod, single, type SecurityObject } from './sod.js';
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

export interface Verdict {
  decision: 'accept' | 'accept-with-warnings' | 'reject';
  policy: string;
  /** Why the decision is not a plain accept: each failed check or each tolerated gap. */
  reasons: string[];
  checks: {
    sodSignature: CheckResult;
    dsChain: DsChainResult;
    crl: CheckResult;
    dataGroupHashes: CheckResult;
    activeAuthentication: CheckResult;
    chipAuthentication: CheckResult;
  };
  /** The time the checks were made for, and the SOD's signing time when it had one. */
  at: Date;
  signingTime: Date | undefined;
}

export interface VerificationPolicy {
  name: string;
  /** No trusted CSCA for the issuer (Vietnam's CSCA is not in the public PKD): warn instead of reject. */
  allowUnverifiableChain: boolean;
  /** Without a current CRL of the CSCA, reject. */
  requireCrl: boolean;
  /** Without a passed Chip Authentication (clone detection), reject. */
  requireChipAuthentication: boolean;
  /** A DS certificate valid at signing but expired now: warn instead of reject. */
  allowExpiredDocumentSigner: boolean;
}

export const HOSPITAL_POLICY: VerificationPolicy = {
  name: 'hospital',
  allowUnverifiableChain: true,
  requireCrl: false,
  requireChipAuthentication: false,
  allowExpiredDocumentSigner: true,
};

export const NOTARY_POLICY: VerificationPolicy = {
  name: 'notary',
  allowUnverifiableChain: false,
  requireCrl: true,
  requireChipAuthentication: true,
  allowExpiredDocumentSigner: false,
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
};

const check = (outcome: CheckOutcome, reason: string): CheckResult => ({ outcome, reason });
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
    });
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
    } catch {
      return false;
    }
  });
  if (!dsDer) {
    const missing = check('not-possible', 'EF.SOD does not carry the Document Signer certificate its SignerInfo names');
    return decide(input.policy, { at, signingTime, checks: { sodSignature: missing, dsChain: { ...missing, documentSignerExpired: false }, crl: missing, dataGroupHashes, activeAuthentication, chipAuthentication } });
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
  return decide(input.policy, { at, signingTime, checks: { sodSignature, dsChain: chain.result, crl, dataGroupHashes, activeAuthentication, chipAuthentication } });
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
  } catch {
    return undefined;
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

/**
 * DS → trusted CSCA. 'not-possible' when the store has no CSCA of that name (nothing to check against); 'failed'
 * when one exists but none signed the DS, or when validity, key usage or country rules are broken.
 */
function checkChain(ds: ParsedCertificate, input: VerifyDocumentInput, at: Date, signedAt: Date): { result: DsChainResult; issuer?: ParsedCertificate } {
  const fail = (reason: string, outcome: CheckOutcome = 'failed') => ({ result: { outcome, reason, documentSignerExpired: false } });
  const named = input.trust.cscas().filter((c) => c.certificate.subject.canonical === ds.issuer.canonical);
  if (named.length === 0) return fail(`no trusted CSCA named ${ds.issuer.text}`, 'not-possible');
  // Same name, other key: a look-alike CSCA, which is a failure and not a gap in the trust store.
  const candidates = input.trust.issuersOf(ds);
  if (candidates.length === 0) return fail('the DS authority key identifier names none of the trusted CSCAs of its issuer name');
  const trusted = candidates.find((c) => signedBy(ds, c.certificate).outcome === 'passed');
  if (!trusted) {
    const reasons = candidates.map((c) => signedBy(ds, c.certificate).reason);
    return fail(`the DS certificate is not signed by any trusted CSCA of that name (${reasons.join('; ')})`);
  }
  const csca = trusted.certificate;
  const problems: string[] = [];
  if (!within(ds, signedAt)) problems.push(`DS certificate not valid at signing time ${signedAt.toISOString()}`);
  if (!within(csca, signedAt)) problems.push(`CSCA certificate not valid at signing time ${signedAt.toISOString()}`);
  if (!within(csca, ds.notBefore)) problems.push('CSCA certificate not valid when the DS certificate was issued');
  if (!ds.keyUsage?.digitalSignature) problems.push('DS certificate lacks key usage digitalSignature');
  if (!csca.keyUsage?.keyCertSign) problems.push('CSCA certificate lacks key usage keyCertSign');
  if (ds.issuer.country !== csca.subject.country) problems.push(`DS issuer country ${ds.issuer.country ?? 'none'} differs from the CSCA's ${csca.subject.country ?? 'none'}`);
  if (input.issuingState !== undefined) {
    const state = input.issuingState.replace(/</g, '').toUpperCase();
    const alpha2 = ALPHA2_BY_ISSUING_STATE[state];
    if (!alpha2) problems.push(`issuing state ${state} has no known country code`);
    else if (alpha2 !== csca.subject.country) problems.push(`CSCA country ${csca.subject.country ?? 'none'} does not match MRZ issuing state ${state} (${alpha2})`);
  }
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

type Undecided = Omit<Verdict, 'decision' | 'policy' | 'reasons'>;

function decide(policy: VerificationPolicy, verdict: Undecided): Verdict {
  const { checks } = verdict;
  const rejects: string[] = [];
  const warnings: string[] = [];
  for (const [name, result] of Object.entries(checks)) if (result.outcome === 'failed') rejects.push(`${name}: ${result.reason}`);
  const gap = (name: string, result: CheckResult, tolerated: boolean) => {
    if (result.outcome === 'not-possible') (tolerated ? warnings : rejects).push(`${name}: ${result.reason}`);
  };
  gap('sodSignature', checks.sodSignature, false);
  gap('dataGroupHashes', checks.dataGroupHashes, false);
  gap('dsChain', checks.dsChain, policy.allowUnverifiableChain);
  gap('crl', checks.crl, !policy.requireCrl);
  if (checks.dsChain.outcome === 'passed' && checks.dsChain.documentSignerExpired) {
    (policy.allowExpiredDocumentSigner ? warnings : rejects).push(`dsChain: ${checks.dsChain.reason}`);
  }
  if (policy.requireChipAuthentication) gap('chipAuthentication', checks.chipAuthentication, false);
  else if (checks.chipAuthentication.outcome === 'not-possible' && checks.activeAuthentication.outcome === 'not-possible') {
    warnings.push('neither Chip nor Active Authentication was performed: a cloned chip would pass');
  }
  const decision = rejects.length > 0 ? 'reject' : warnings.length > 0 ? 'accept-with-warnings' : 'accept';
  return { decision, policy: policy.name, reasons: [...rejects, ...warnings], ...verdict };
}
