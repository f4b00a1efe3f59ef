import { statSync } from 'node:fs';
import { KioskError, loadConfig, type KioskConfig } from '@kiosk/common';
import { BUILT_IN_POLICIES, type Verdict, type VerificationPolicy } from '../verify/passive-authentication.js';
import { assertNoTestAnchors } from '../verify/test-anchors.js';
import { loadTrustStore, type TrustStore } from '../verify/trust-store.js';

/** The options `read` and `verify` share, their help lines, and how both print a verdict. */
export const VERIFY_OPTIONS = {
  trust: { type: 'string' },
  policy: { type: 'string' },
  at: { type: 'string' },
  'allow-test-pki': { type: 'boolean' },
} as const;

export const VERIFY_OPTIONS_HELP = `      --trust PATH  trust-store folder (CSCAs and CRLs; default: the configuration's trust.folder)
      --policy P    public-service, hospital or notary (default: the configuration's device.profile). Every
                    policy rejects a DS that does not chain to a trusted CSCA; they differ in the gaps they send
                    to staff review (docs/verification.md)
      --at DATE     verify as of YYYY-MM-DD (default now)
      --allow-test-pki  accept a trust store holding test-PKI CSCAs (kiosk-sim trust); refused without it`;

export interface VerificationSetup {
  trust: TrustStore;
  trustFolder: string;
  policy: VerificationPolicy;
  at: Date;
}

export interface VerificationOptionValues {
  trust?: string | undefined;
  policy?: string | undefined;
  at?: string | undefined;
  'allow-test-pki'?: boolean | undefined;
}

export async function verificationSetup(values: VerificationOptionValues, help: string): Promise<VerificationSetup> {
  const config: KioskConfig = loadConfig();
  const policyName = values.policy ?? config.device.profile;
  const policy = Object.hasOwn(BUILT_IN_POLICIES, policyName) ? BUILT_IN_POLICIES[policyName] : undefined;
  if (!policy) throw new KioskError('USAGE', `--policy takes ${Object.keys(BUILT_IN_POLICIES).join(', ')}\n\n${help}`);
  let at = new Date();
  if (values.at !== undefined) {
    at = new Date(`${values.at}T00:00:00Z`);
    // Date rolls 2026-02-30 over to March 2; the round trip refuses dates that do not exist.
    if (!/^\d{4}-\d{2}-\d{2}$/.test(values.at) || Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== values.at) {
      throw new KioskError('USAGE', `--at takes a date YYYY-MM-DD that exists\n\n${help}`);
    }
  }
  // A mistyped --trust must not quietly verify against nothing (the hospital policy would accept with warnings).
  if (values.trust !== undefined && !statSync(values.trust, { throwIfNoEntry: false })?.isDirectory()) {
    throw new KioskError('CONFIG_FILE_UNREADABLE', `trust folder ${values.trust} does not exist or is not a folder`);
  }
  const trustFolder = values.trust ?? config.trust.folder;
  const trust = await loadTrustStore(trustFolder, config.trust.pins);
  if (values['allow-test-pki'] !== true) assertNoTestAnchors(trust, `trust folder ${trustFolder}`, 'Pass --allow-test-pki to verify against it (tests and demos only).');
  return { trust, trustFolder, policy: withConfiguredStates(policy, config), at };
}

const CHECK_LABELS: ReadonlyArray<[keyof Verdict['checks'], string]> = [
  ['sodSignature', 'SOD signature'],
  ['dsChain', 'DS -> CSCA chain'],
  ['crl', 'CRL'],
  ['dataGroupHashes', 'data group hashes'],
  ['activeAuthentication', 'Active Authentication'],
  ['chipAuthentication', 'Chip Authentication'],
];

/** The policy with the issuing states this deployment takes without their CSCA (always as needs-review). */
export function withConfiguredStates(policy: VerificationPolicy, config: Pick<KioskConfig, 'trust'>): VerificationPolicy {
  const states = config.trust.acceptWithoutCsca;
  return states.length === 0 ? policy : { ...policy, unverifiableChainStates: states };
}

const DECISION_TEXT: Readonly<Record<Verdict['decision'], string>> = {
  accept: 'ACCEPTED',
  'needs-review': 'NOT ACCEPTED: NEEDS STAFF REVIEW',
  reject: 'REJECTED',
};

export function formatVerdict(verdict: Verdict): string {
  const lines = [`verification (${verdict.policy} policy, as of ${verdict.at.toISOString().slice(0, 10)}): ${DECISION_TEXT[verdict.decision]}`];
  for (const [key, label] of CHECK_LABELS) {
    const check = verdict.checks[key];
    lines.push(`  ${label.padEnd(22)} ${check.outcome.padEnd(12)} ${check.reason}`);
  }
  for (const reason of verdict.reasons) lines.push(`  why: ${reason}`);
  for (const note of verdict.notes) lines.push(`  note: ${note}`);
  if (verdict.documentSigner) lines.push(`  signer: ${verdict.documentSigner.subject}, issued by ${verdict.documentSigner.issuer} (SHA-256 ${verdict.documentSigner.fingerprint})`);
  return `${lines.join('\n')}\n`;
}

/** The verdict as JSON: checks with outcome and reason, the decision and why, dates as ISO strings. */
export function verdictJson(verdict: Verdict): Record<string, unknown> {
  return {
    decision: verdict.decision,
    policy: verdict.policy,
    reasons: verdict.reasons,
    notes: verdict.notes,
    checks: verdict.checks,
    documentSigner: verdict.documentSigner ?? null,
    at: verdict.at.toISOString(),
    signingTime: verdict.signingTime?.toISOString() ?? null,
  };
}
