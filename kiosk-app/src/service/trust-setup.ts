import { KioskError, type KioskConfig, type Logger } from '@kiosk/common';
import { HOSPITAL_POLICY, NOTARY_POLICY, TrustStore, loadTrustStore, type VerificationPolicy } from '@kiosk/device-drivers/verify';

export interface KioskTrust {
  trust: TrustStore;
  /** Where the CSCAs came from: the configured folder, or the fixtures' test PKI (simulated devices only). */
  source: 'folder' | 'test-pki';
  policy: VerificationPolicy;
}

/** The verification policy of the device profile: a notary tolerates no gap, every other profile the hospital's. */
export function policyFor(profile: KioskConfig['device']['profile']): VerificationPolicy {
  return profile === 'notary' ? NOTARY_POLICY : HOSPITAL_POLICY;
}

/**
 * The trust store the kiosk verifies cards against. The configured folder wins whenever it holds a CSCA. Without one,
 * real devices refuse to start (a kiosk that cannot verify must not take citizens), while simulated devices trust the
 * test CSCA and CRL of the fixtures PKI, which signs the virtual cards.
 */
export async function loadKioskTrust(config: Pick<KioskConfig, 'device' | 'devices' | 'trust'>, log: Logger): Promise<KioskTrust> {
  const policy = policyFor(config.device.profile);
  const folder = await loadTrustStore(config.trust.folder, config.trust.pins);
  if (folder.cscas().length > 0) return { trust: folder, source: 'folder', policy };
  if (config.devices.mode === 'real') {
    throw new KioskError(
      'TRUST_STORE_MISSING',
      `real devices need CSCA certificates in the trust folder "${config.trust.folder}" (trust.folder; fill it with kiosk-card trust add|import-masterlist|import-ldif), and it holds none`,
    );
  }
  // fixtures is the simulator home: loaded only here, so an image for real devices need not ship it.
  const { createTestPki } = await import('@kiosk/fixtures');
  const pki = createTestPki();
  const trust = new TrustStore(config.trust.pins);
  trust.addCsca(pki.csca.certificate);
  trust.addCrl(pki.crl.der);
  log.warn({ folder: config.trust.folder }, 'simulated devices and no CSCA in the trust folder: trusting the TEST CSCA and CRL of the fixtures PKI');
  return { trust, source: 'test-pki', policy };
}
