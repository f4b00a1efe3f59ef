import { resolve } from 'node:path';
import { KioskError, type KioskConfig, type Logger } from '@kiosk/common';
import { BUILT_IN_POLICIES, KNOWN_ISSUING_STATES, assertNoTestAnchors, loadTrustStore, type TrustStore, type VerificationPolicy } from '@kiosk/device-drivers/verify';

export interface KioskTrust {
  trust: TrustStore;
  /** Where the CSCAs came from: trust.folder, or the test PKI in devices.simTrustFolder (simulated devices only). */
  source: 'folder' | 'test-pki';
  policy: VerificationPolicy;
}

/**
 * The verification policy of the device profile (each profile has its own, named as it), with the issuing states
 * this deployment takes without their CSCA: those cards go to staff review, never to acceptance.
 */
export function policyFor(config: Pick<KioskConfig, 'device' | 'trust'>): VerificationPolicy {
  const policy = BUILT_IN_POLICIES[config.device.profile];
  if (!policy) throw new KioskError('CONFIG_INVALID', `no verification policy for device.profile ${config.device.profile}`);
  const states = config.trust.acceptWithoutCsca;
  const unknown = states.filter((state) => !KNOWN_ISSUING_STATES.includes(state));
  if (unknown.length > 0) {
    throw new KioskError('CONFIG_INVALID', `trust.acceptWithoutCsca: ${unknown.join(', ')} not an issuing state the verifier can match to a country (${KNOWN_ISSUING_STATES.join(', ')})`);
  }
  return states.length === 0 ? policy : { ...policy, unverifiableChainStates: states };
}

/**
 * The trust store the kiosk verifies cards against. Real devices need CSCAs in the configured folder, none of them
 * from the test PKI (its keys derive from a public seed: anyone could mint cards for it). Simulated devices use the
 * folder when it holds a CSCA, else the test CSCAs and CRL that sign the virtual cards, from devices.simTrustFolder
 * where `kiosk-sim setup` wrote them (`npm start` runs it first); the kiosk never builds the test PKI itself.
 */
export async function loadKioskTrust(config: Pick<KioskConfig, 'device' | 'devices' | 'trust'>, log: Logger): Promise<KioskTrust> {
  const policy = policyFor(config);
  const folder = await loadTrustStore(config.trust.folder, config.trust.pins);
  if (config.devices.mode === 'real') {
    if (folder.cscas().length === 0) {
      throw new KioskError(
        'TRUST_STORE_MISSING',
        `real devices need CSCA certificates in the trust folder "${config.trust.folder}" (trust.folder; fill it with kiosk-card trust add|import-masterlist|import-ldif), and it holds none`,
      );
    }
    assertNoTestAnchors(folder, `trust folder "${config.trust.folder}"`, 'Real devices never trust the test PKI: remove these files (kiosk-card trust list shows them).');
    return { trust: folder, source: 'folder', policy };
  }
  if (folder.cscas().length > 0) return { trust: folder, source: 'folder', policy };
  const simFolder = config.devices.simTrustFolder;
  if (resolve(simFolder) === resolve(config.trust.folder)) {
    throw new KioskError('CONFIG_INVALID', `devices.simTrustFolder is trust.folder ("${simFolder}"): the test PKI's folder must be another one`);
  }
  const sim = await loadTrustStore(simFolder, config.trust.pins);
  if (sim.cscas().length === 0) {
    throw new KioskError(
      'TRUST_STORE_MISSING',
      `simulated devices: neither trust.folder "${config.trust.folder}" nor devices.simTrustFolder "${simFolder}" holds a CSCA; write the test trust store with \`kiosk-sim setup\` (npm start runs it first)`,
    );
  }
  log.warn({ folder: config.trust.folder, simTrustFolder: simFolder }, 'simulated devices and no CSCA in the trust folder: trusting the TEST CSCAs and CRL in devices.simTrustFolder');
  return { trust: sim, source: 'test-pki', policy };
}
