import { statSync } from 'node:fs';
import { KioskError, loadConfig, type KioskConfig } from '@kiosk/common';
import { HOSPITAL_POLICY, NOTARY_POLICY, type Verdict, type VerificationPolicy } from '../verify/passive-authentication.js';
import { loadTrustStore, type TrustStore } from '../verify/trust-store.js';

/** The options `read` and `verify` share, their help lines, and how both print a verdict. */
export const VERIFY_OPTIONS = {
  trust: { type: 'string' },
  policy: { type: 'string' },
  at: { type: 'string' },
} as const;

export const VERIFY_OPTIONS_HELP = `      --trust PATH  trust-store folder (CSCAs and CRLs; default: the configuration's trust.folder)
      --policy P    hospital (tolerates an unverifiable chain, a missing CRL, no Chip Authentication, with
                    warnings) or notary (tolerates none); default: notary if device.profile is notary, else hospital
      --at DATE     verify as of YYYY-MM-DD (default now)`;

const POLICIES: Readonly<Record<string, VerificationPolicy>> = { hospital: HOSPITAL_POLICY, notary: NOTARY_POLICY };

export interface VerificationSetup {
  trust: TrustStore;
  trustFolder: string;
  policy: VerificationPolicy;
  at: Date;
}

export async function verificationSetup(values: { trust?: string | undefined; policy?: string | undefined; at?: string | undefined }, help: string): Promise<VerificationSetup> {
  const config: KioskConfig = loadConfig();
  const policyName = values.policy ?? (config.device.profile === 'notary' ? 'notary' : 'hospital');
  const policy = POLICIES[policyName];
  if (!policy) throw new KioskError('USAGE', `--policy takes hospital or notary\n\n${help}`);
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
  return { trust: await loadTrustStore(trustFolder, config.trust.pins), trustFolder, policy, at };
}

const CHECK_LABELS: ReadonlyArray<[keyof Verdict['checks'], string]> = [
  ['sodSignature', 'SOD signature'],
  ['dsChain', 'DS -> CSCA chain'],
  ['crl', 'CRL'],
  ['dataGroupHashes', 'data group hashes'],
  ['activeAuthentication', 'Active Authentication'],
  ['chipAuthentication', 'Chip Authentication'],
];

const DECISION_TEXT: Readonly<Record<Verdict['decision'], string>> = {
  accept: 'ACCEPTED',
  'accept-with-warnings': 'ACCEPTED WITH WARNINGS',
  reject: 'REJECTED',
};

export function formatVerdict(verdict: Verdict): string {
  const lines = [`verification (${verdict.policy} policy, as of ${verdict.at.toISOString().slice(0, 10)}): ${DECISION_TEXT[verdict.decision]}`];
  for (const [key, label] of CHECK_LABELS) {
    const check = verdict.checks[key];
    lines.push(`  ${label.padEnd(22)} ${check.outcome.padEnd(12)} ${check.reason}`);
  }
  for (const reason of verdict.reasons) lines.push(`  why: ${reason}`);
  return `${lines.join('\n')}\n`;
}

/** The verdict as JSON: checks with outcome and reason, the decision and why, dates as ISO strings. */
export function verdictJson(verdict: Verdict): Record<string, unknown> {
  return {
    decision: verdict.decision,
    policy: verdict.policy,
    reasons: verdict.reasons,
    checks: verdict.checks,
    at: verdict.at.toISOString(),
    signingTime: verdict.signingTime?.toISOString() ?? null,
  };
}
