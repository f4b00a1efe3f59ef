import { KioskError, parseCliArgs, untilSignal } from '@kiosk/common';
import { DEVICE_PROFILES, type DeviceProfile } from '../ca/dev-ca.js';
import { TOKEN_LABELS } from '../device/device-key.js';
import { runInit, identityOf } from '../device/init.js';
import { enrolled, renewDaemon, renewOnce, renewalTime } from '../device/renew.js';

/** `kiosk-provision init | renew | status` (docs/provisioning.md "Enrolling a kiosk (init)", "Renewal", "Status"). */

export const DEVICE_HELP = `kiosk-provision init --site CODE --profile ${DEVICE_PROFILES.join('|')} --enroll URL --token=OTP --ca-fingerprint SHA256
                     [--upstream-ca FILE] [--config kiosk.config.json]
                     [--pkcs11-module PATH --pkcs11-token LABEL --pin-file FILE]
    enroll this device: key, CSR, EST enrollment, certificates, store keys, configuration, QR code; re-runnable
kiosk-provision renew [--daemon] [--force] [--config FILE]
    re-enroll with the current certificate at two thirds of its lifetime (--force: now; --daemon: keep renewing)
kiosk-provision status [--json] [--config FILE]
    identity, certificate, renewal time, key location, last init result`;

const configOption = { config: { type: 'string', default: 'kiosk.config.json' } } as const;

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

export async function initCommand(args: string[]): Promise<number> {
  const { values } = parseCliArgs(
    {
      args,
      options: {
        ...configOption,
        site: { type: 'string' },
        profile: { type: 'string' },
        enroll: { type: 'string' },
        token: { type: 'string' },
        'ca-fingerprint': { type: 'string' },
        'upstream-ca': { type: 'string' },
        'pkcs11-module': { type: 'string' },
        'pkcs11-token': { type: 'string' },
        'pin-file': { type: 'string' },
      },
      strict: true,
    },
    DEVICE_HELP,
  );
  const { site, profile, enroll, token } = values;
  if (!site || !profile || !enroll || !token) throw new KioskError('USAGE', `init needs --site, --profile, --enroll and --token\n\n${DEVICE_HELP}`);
  if (!(DEVICE_PROFILES as readonly string[]).includes(profile)) throw new KioskError('USAGE', `--profile must be one of ${DEVICE_PROFILES.join(', ')}`);
  const tokenLabel = values['pkcs11-token'];
  const result = await runInit({
    configFile: values.config,
    site,
    profile: profile as DeviceProfile,
    enrollUrl: enroll,
    token,
    out,
    ...(values['ca-fingerprint'] === undefined ? {} : { caFingerprint: values['ca-fingerprint'] }),
    ...(values['upstream-ca'] === undefined ? {} : { upstreamCa: values['upstream-ca'] }),
    ...(tokenLabel === undefined
      ? {}
      : { pkcs11: { tokenLabel, ...(values['pkcs11-module'] === undefined ? {} : { module: values['pkcs11-module'] }), ...(values['pin-file'] === undefined ? {} : { pinFile: values['pin-file'] }) } }),
  });
  out(result === 'done' ? `enrolled; configuration written to ${values.config}` : 'nothing to do');
  return 0;
}

export async function renewCommand(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { ...configOption, daemon: { type: 'boolean', default: false }, force: { type: 'boolean', default: false } }, strict: true }, DEVICE_HELP);
  if (values.daemon) {
    const stop = new AbortController();
    void untilSignal().then(() => stop.abort());
    await renewDaemon(values.config, out, stop.signal);
    return 0;
  }
  const result = await renewOnce(values.config, { force: values.force });
  out(result.renewed ? `renewed: serial ${result.identity.serial}, valid until ${result.identity.notAfter}` : `not due: next renewal at ${result.due.toISOString()} (--force renews now)`);
  return 0;
}

export function statusCommand(args: string[]): number {
  const { values } = parseCliArgs({ args, options: { ...configOption, json: { type: 'boolean', default: false } }, strict: true }, DEVICE_HELP);
  const { config, state, certPem } = enrolled(values.config);
  const { tokenLabel } = config.provisioning.pkcs11;
  const status = {
    ...identityOf(config, certPem),
    renewalAt: renewalTime(certPem).toISOString(),
    key: tokenLabel ? { location: 'pkcs11', token: tokenLabel, label: TOKEN_LABELS.device } : { location: 'file', path: config.sync.clientKey },
    lastInit: state.lastRun ?? null,
    lastRenewal: state.lastRenewal ?? null,
  };
  if (values.json) out(JSON.stringify(status, null, 2));
  else for (const [key, value] of Object.entries(status)) out(`${key}: ${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`);
  return 0;
}
