import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FileCheckpointSigner, FileKeyProvider } from '@kiosk/store';
import { KioskError, configSchema, type KioskConfig } from '@kiosk/common';
import QRCode from 'qrcode';
import type { DeviceProfile } from '../ca/dev-ca.js';
import { estCaCerts, estEnroll } from '../ca/est-client.js';
import { fingerprint256 } from '../ca/x509.js';
import { Pkcs11KeyProvider } from '../pkcs11/store-keys.js';
import { TOKEN_LABELS, deviceCsr, ensureDeviceKey, openToken } from './device-key.js';
import { CONFIG_PROFILE, INIT_STEPS, pemChain, readRawConfig, readState, writeAtomic, writeState, type InitState, type InitStep } from './files.js';

export interface InitOptions {
  configFile: string;
  site: string;
  profile: DeviceProfile;
  enrollUrl: string;
  token: string;
  caFingerprint?: string;
  upstreamCa?: string;
  pkcs11?: { module?: string; tokenLabel: string; pinFile?: string };
  out: (line: string) => void;
}

/** The EST CA is kept beside the client certificate: renew pins it, and it is what the upstreams trust for devices. */
export const estCaPath = (config: KioskConfig): string => join(dirname(config.sync.clientCert), 'est-ca.pem');
export const identityPngPath = (config: KioskConfig): string => join(dirname(config.sync.clientCert), 'device-identity.png');

/** The configuration init works with: the existing file's, with the technician's site, profile and token. */
function targetConfig(options: InitOptions, deviceId: string): KioskConfig {
  const raw = readRawConfig(options.configFile);
  const pkcs11 = options.pkcs11 ? { ...raw.provisioning?.pkcs11 as object, ...options.pkcs11 } : raw.provisioning?.pkcs11;
  return configSchema.parse({
    ...raw,
    device: { ...raw.device, id: deviceId, site: options.site, profile: CONFIG_PROFILE[options.profile] },
    provisioning: { ...raw.provisioning, ...(pkcs11 === undefined ? {} : { pkcs11 }) },
  });
}

/** SIGKILL itself after step k: the test hook for "interrupted between steps" (KIOSK_PROVISION_STOP_AFTER=k). */
function testStopHook(stepNumber: number): void {
  if (process.env.KIOSK_PROVISION_STOP_AFTER === String(stepNumber)) process.kill(process.pid, 'SIGKILL');
}

export interface Identity {
  deviceId: string;
  site: string;
  profile: string;
  serial: string;
  fingerprint256: string;
  notAfter: string;
}

/** The device id is the certificate's CN, which the CA took from the token. */
export const deviceIdOf = (certPem: string): string => /CN=([^\n,]+)/.exec(new X509Certificate(certPem).subject)?.[1] ?? '';

export function identityOf(config: KioskConfig, certPem: string): Identity {
  const certificate = new X509Certificate(certPem);
  return {
    deviceId: deviceIdOf(certPem),
    site: config.device.site,
    profile: config.device.profile,
    serial: certificate.serialNumber,
    fingerprint256: fingerprint256(certificate.raw),
    notAfter: new Date(certificate.validTo).toISOString(),
  };
}

/**
 * `kiosk-provision init`: each step is recorded in the state file once done, so a re-run skips what is done and an
 * interrupted run resumes; the certificate is recorded the moment it is issued (the token is spent then). The
 * configuration is the last file written, so a device without it is visibly not enrolled.
 */
export async function runInit(options: InitOptions): Promise<'done' | 'unchanged'> {
  const previous = readState(options.configFile);
  if (previous?.done.includes('summary')) {
    options.out(`already enrolled: ${options.configFile} is configured (${previous.site}, ${previous.profile}); nothing changed`);
    return 'unchanged';
  }
  const state: InitState = previous ?? { done: [], site: options.site, profile: options.profile, enrollUrl: options.enrollUrl };
  // Before enrollment the device id is unknown: the CA names it from the token.
  let config = targetConfig(options, state.certPem ? deviceIdOf(state.certPem) : 'pending');
  const steps: Record<InitStep, () => Promise<string> | string> = {
    key: () => ensureDeviceKey(config),
    csr: async () => {
      state.csrDer = (await deviceCsr(config, `CN=${options.site}`)).toString('base64');
      return 'signed by the device key';
    },
    cacerts: async () => {
      if (!options.caFingerprint) throw new KioskError('USAGE', '--ca-fingerprint is required: it is the SHA-256 fingerprint `kiosk-provision ca serve` prints');
      const ca = await estCaCerts(options.enrollUrl, { caFingerprint: options.caFingerprint });
      state.caPem = ca.caPem;
      return `CA ${ca.fingerprint256}`;
    },
    enroll: async () => {
      state.certPem = await estEnroll({ url: options.enrollUrl, token: options.token, csrDer: Buffer.from(state.csrDer ?? '', 'base64'), caPin: state.caPem ?? '' });
      config = targetConfig(options, deviceIdOf(state.certPem));
      return `device ${config.device.id}, serial ${new X509Certificate(state.certPem).serialNumber}`;
    },
    install: () => {
      if (options.upstreamCa) {
        if (!existsSync(options.upstreamCa)) throw new KioskError('PROVISION_UPSTREAM_CA_MISSING', `--upstream-ca ${options.upstreamCa} does not exist; give the upstream servers' CA file`);
        writeAtomic(config.sync.upstreamCa, readFileSync(options.upstreamCa));
      } else if (!existsSync(config.sync.upstreamCa)) {
        throw new KioskError('PROVISION_UPSTREAM_CA_MISSING', `there is no upstream CA at ${config.sync.upstreamCa}; give the upstream servers' CA file with --upstream-ca FILE`);
      }
      writeAtomic(estCaPath(config), pemChain(state.caPem ?? ''));
      writeAtomic(config.sync.clientCert, pemChain(state.certPem ?? '', state.caPem ?? ''));
      return `${config.sync.clientCert}, ${estCaPath(config)}, upstream pin ${config.sync.upstreamCa}`;
    },
    'store-keys': () => {
      // The audit signer stays a file even with a token: an Ed25519 private key on the token makes libp11 0.4.12
      // (the TLS engine) fail to enumerate private keys, so mTLS with the device key would break (provisioning.md).
      new FileCheckpointSigner(config.store.signingKeyFile, { create: true });
      if (config.provisioning.pkcs11.tokenLabel) {
        const token = openToken(config.provisioning.pkcs11);
        try {
          return `${new Pkcs11KeyProvider(token, TOKEN_LABELS.storeWrap, { create: true }).description}, ${config.store.signingKeyFile}`;
        } finally {
          token.close();
        }
      }
      new FileKeyProvider(config.store.keyFile, { create: true });
      return `${config.store.keyFile}, ${config.store.signingKeyFile}`;
    },
    config: () => {
      const raw = readRawConfig(options.configFile);
      const written = { ...raw, device: config.device, provisioning: config.provisioning };
      configSchema.parse(written);
      writeAtomic(options.configFile, `${JSON.stringify(written, null, 2)}\n`);
      return options.configFile;
    },
    summary: async () => {
      const identity = identityOf(config, state.certPem ?? '');
      const payload = JSON.stringify({ id: identity.deviceId, site: identity.site, sha256: identity.fingerprint256, exp: identity.notAfter });
      options.out(await QRCode.toString(payload, { type: 'terminal', small: true }));
      await QRCode.toFile(identityPngPath(config), payload, { type: 'png' });
      options.out(`device ${identity.deviceId} at ${identity.site} (${identity.profile}); certificate ${identity.serial}, SHA-256 ${identity.fingerprint256}, valid until ${identity.notAfter}`);
      return `QR code written to ${identityPngPath(config)}`;
    },
  };
  for (const [index, step] of INIT_STEPS.entries()) {
    const label = `[${index + 1}/${INIT_STEPS.length}] ${step}`;
    if (state.done.includes(step)) {
      options.out(`${label} ... already done`);
      continue;
    }
    try {
      const detail = await steps[step]();
      state.done.push(step);
      writeState(options.configFile, state);
      options.out(`${label} ... done (${detail})`);
    } catch (err) {
      state.lastRun = { at: new Date().toISOString(), result: `failed at ${step}: ${err instanceof Error ? err.message : String(err)}` };
      writeState(options.configFile, state);
      throw err;
    }
    testStopHook(index + 1);
  }
  state.lastRun = { at: new Date().toISOString(), result: 'enrolled' };
  writeState(options.configFile, state);
  return 'done';
}
