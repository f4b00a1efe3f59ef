import { KioskError, parseCliArgs, untilSignal } from '@kiosk/common';
import { DEFAULT_CA_DIR, DEFAULT_VALIDITY_DAYS, DEVICE_PROFILES, DevCa, type DeviceProfile } from '../ca/dev-ca.js';
import { startEstServer } from '../ca/est-server.js';

/** `kiosk-provision ca ...`: the development CA with EST (docs/provisioning.md "Development CA (EST)"). */

export const CA_HELP = `kiosk-provision ca: the development CA with EST (RFC 7030), for tests, demos and npm start

Usage:
  kiosk-provision ca init [--dir DIR]            create the CA (ECDSA P-256), its EST server certificate and its
                                                 database in DIR (default ${DEFAULT_CA_DIR}); prints the CA fingerprint
  kiosk-provision ca serve [--dir DIR] [--host 127.0.0.1] [--port 7450] [--validity-days ${DEFAULT_VALIDITY_DAYS}]
                                                 serve EST over HTTPS until SIGINT/SIGTERM: /.well-known/est/cacerts,
                                                 simpleenroll (token), simplereenroll (mTLS), and GET /crl
  kiosk-provision ca token --site CODE --profile ${DEVICE_PROFILES.join('|')} [--ttl 24h] [--device-serial S] [--dir DIR]
                                                 print a one-time enrollment token (shown once, stored hashed);
                                                 --ttl takes s, m, h or d
  kiosk-provision ca revoke SERIAL [--dir DIR]   revoke an issued certificate and rewrite the CRL (crl.der, crl.pem)
  kiosk-provision ca list [--json] [--dir DIR]   list the issued certificates
  kiosk-provision ca --help

The device pins the CA by the SHA-256 fingerprint printed by init and serve (kiosk-provision init --ca-fingerprint).
Exit codes: 0 ok, 1 a typed failure (the message says what to do), 2 usage error.`;

const dirOption = { dir: { type: 'string', default: DEFAULT_CA_DIR } } as const;

const TTL = /^(\d+)([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseTtl(text: string): number {
  const match = TTL.exec(text);
  if (!match || Number(match[1]) === 0) throw new KioskError('USAGE', `--ttl "${text}" must be a positive number followed by s, m, h or d (for example 24h)`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

function positiveInteger(text: string, option: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new KioskError('USAGE', `${option} must be a whole number from 1 to ${max}`);
  return value;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

async function withCa<T>(dir: string, validityDays: number | undefined, use: (ca: DevCa) => Promise<T> | T): Promise<T> {
  const ca = await DevCa.open(dir, validityDays === undefined ? {} : { validityDays });
  try {
    return await use(ca);
  } finally {
    ca.close();
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  init: async (args) => {
    const { values } = parseCliArgs({ args, options: dirOption, strict: true }, CA_HELP);
    await withCa(values.dir, undefined, (ca) => out(`CA ready in ${values.dir}\nCA certificate SHA-256 fingerprint: ${ca.fingerprint256}`));
    return 0;
  },
  serve: async (args) => {
    const { values } = parseCliArgs(
      { args, options: { ...dirOption, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '7450' }, 'validity-days': { type: 'string' } }, strict: true },
      CA_HELP,
    );
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new KioskError('USAGE', '--port must be a whole number from 0 to 65535');
    const validityDays = values['validity-days'] === undefined ? undefined : positiveInteger(values['validity-days'], '--validity-days', 3650);
    await withCa(values.dir, validityDays, async (ca) => {
      const server = await startEstServer(ca, { host: values.host, port });
      out(`EST server listening on ${server.url}/.well-known/est (CRL at ${server.url}/crl)`);
      out(`CA certificate SHA-256 fingerprint: ${ca.fingerprint256}`);
      await untilSignal();
      await server.close();
      out('EST server stopped');
    });
    return 0;
  },
  token: async (args) => {
    const { values } = parseCliArgs(
      { args, options: { ...dirOption, site: { type: 'string' }, profile: { type: 'string' }, ttl: { type: 'string', default: '24h' }, 'device-serial': { type: 'string' } }, strict: true },
      CA_HELP,
    );
    if (values.site === undefined || values.profile === undefined) throw new KioskError('USAGE', `ca token needs --site and --profile\n\n${CA_HELP}`);
    const ttlMs = parseTtl(values.ttl);
    const issued = await withCa(values.dir, undefined, (ca) =>
      ca.createToken({ site: values.site!, profile: values.profile as DeviceProfile, ttlMs, ...(values['device-serial'] === undefined ? {} : { deviceSerial: values['device-serial'] }) }),
    );
    out(issued.token);
    process.stderr.write(`one-time token for device ${issued.deviceId} (site ${issued.site}, profile ${issued.profile}), valid until ${issued.expiresAt.toISOString()}; it is not shown again\n`);
    return 0;
  },
  revoke: async (args) => {
    const { values, positionals } = parseCliArgs({ args, options: dirOption, allowPositionals: true, strict: true }, CA_HELP);
    if (positionals.length !== 1) throw new KioskError('USAGE', `ca revoke takes one serial number\n\n${CA_HELP}`);
    const record = await withCa(values.dir, undefined, (ca) => ca.revoke(positionals[0]!));
    out(`revoked ${record.serialNumber} (${record.deviceId}) on ${record.revokedAt ?? ''}; CRL rewritten in ${values.dir}`);
    return 0;
  },
  list: async (args) => {
    const { values } = parseCliArgs({ args, options: { ...dirOption, json: { type: 'boolean', default: false } }, strict: true }, CA_HELP);
    const records = await withCa(values.dir, undefined, (ca) => ca.list());
    if (values.json) {
      out(JSON.stringify(records, null, 2));
      return 0;
    }
    out(['serial', 'device', 'site', 'profile', 'not after', 'issued by', 'revoked'].join('\t'));
    for (const r of records) out([r.serialNumber, r.deviceId, r.site, r.profile, r.notAfter, r.issuedBy, r.revokedAt ?? '-'].join('\t'));
    return 0;
  },
};

export async function caCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    out(CA_HELP);
    return sub === undefined ? 2 : 0;
  }
  const run = Object.hasOwn(COMMANDS, sub) ? COMMANDS[sub] : undefined;
  if (!run) throw new KioskError('USAGE', `unknown ca command "${sub}"\n\n${CA_HELP}`);
  return run(rest);
}
