import { X509Certificate, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { KioskError, type KioskConfig } from '@kiosk/common';
import { estReenroll } from '../ca/est-client.js';
import { loadTokenClientTls } from '@kiosk/sync-agent';
import { TOKEN_LABELS, deviceCsr } from './device-key.js';
import { effectiveConfig, pemChain, readState, writeAtomic, writeState, type InitState } from './files.js';
import { estCaPath, deviceIdOf, identityOf, type Identity } from './init.js';

/** Renewal is due at two thirds of the certificate's lifetime (step-ca's default), less a jitter. */
export function renewalTime(certPem: string): Date {
  const certificate = new X509Certificate(certPem);
  const from = Date.parse(certificate.validFrom);
  return new Date(from + ((Date.parse(certificate.validTo) - from) * 2) / 3);
}

/** Up to 1/30 of the lifetime earlier, so a fleet enrolled on one day does not renew in the same minute. */
function jittered(certPem: string): Date {
  const certificate = new X509Certificate(certPem);
  const lifetime = Date.parse(certificate.validTo) - Date.parse(certificate.validFrom);
  return new Date(renewalTime(certPem).getTime() - randomInt(0, Math.max(1, Math.floor(lifetime / 30))));
}

interface Enrolled {
  config: KioskConfig;
  state: InitState;
  certPem: string;
}

export function enrolled(configFile: string): Enrolled {
  const state = readState(configFile);
  if (!state?.done.includes('summary') || !existsSync(configFile)) throw new KioskError('PROVISION_NOT_ENROLLED', `${configFile} is not an enrolled device; run kiosk-provision init first`);
  const config = effectiveConfig(configFile);
  return { config, state, certPem: readFileSync(config.sync.clientCert, 'utf8') };
}

/**
 * simplereenroll with the current certificate over mTLS, same key, new certificate written atomically (certificate
 * then CA, as init writes it): the sync agent's ClientTlsSource watches the folder and reloads it without a restart.
 */
export async function renewOnce(configFile: string, options: { force: boolean; now?: Date }): Promise<{ renewed: boolean; identity: Identity; due: Date }> {
  const { config, state, certPem } = enrolled(configFile);
  const due = jittered(certPem);
  if (!options.force && (options.now ?? new Date()) < due) return { renewed: false, identity: identityOf(config, certPem), due };
  const caPin = readFileSync(estCaPath(config), 'utf8');
  const { pkcs11 } = config.provisioning;
  // TLS first: once OpenSSL's engine has initialised the module, the CSR's pkcs11js session joins it and does not
  // finalise it on close (provisioning.md, "the process opens the token twice").
  const tls = pkcs11.tokenLabel
    ? { secureContext: loadTokenClientTls({ clientCert: config.sync.clientCert, upstreamCa: estCaPath(config) }, { module: pkcs11.module, tokenLabel: pkcs11.tokenLabel, keyLabel: TOKEN_LABELS.device, pinFile: pkcs11.pinFile }).options.secureContext }
    : { cert: certPem, key: readFileSync(config.sync.clientKey, 'utf8') };
  const csrDer = await deviceCsr(config, `CN=${deviceIdOf(certPem)}`);
  const fresh = await estReenroll({ url: state.enrollUrl, tls, csrDer, caPin });
  writeAtomic(config.sync.clientCert, pemChain(fresh, caPin));
  const identity = identityOf(config, fresh);
  writeState(configFile, { ...state, lastRenewal: { at: new Date().toISOString(), serial: identity.serial } });
  return { renewed: true, identity, due: jittered(fresh) };
}

const RETRY_MS = 3_600_000;

/** `renew --daemon`: renew when due, then sleep until the next renewal time; a failure is retried after an hour. */
export async function renewDaemon(configFile: string, out: (line: string) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    let waitMs = RETRY_MS;
    try {
      const result = await renewOnce(configFile, { force: false });
      out(result.renewed ? `renewed: serial ${result.identity.serial}, valid until ${result.identity.notAfter}` : `not due; next renewal at ${result.due.toISOString()}`);
      waitMs = Math.max(1000, result.due.getTime() - Date.now());
    } catch (err) {
      out(`renewal failed, retrying in an hour: ${err instanceof Error ? err.message : String(err)}`);
    }
    await sleep(waitMs, undefined, { signal }).catch(() => undefined);
  }
}
