import { KioskError, runCli } from '@kiosk/common';
import { checkConfigFile, configJsonSchema, defaultConfig } from '../config-commands.js';

const HELP = `kiosk-provision: field provisioning of a kiosk or edge device

Usage:
  kiosk-provision config check [FILE]   validate a configuration file (default: $KIOSK_CONFIG) together with the
                                        KIOSK_* environment, and print the effective configuration as JSON
  kiosk-provision config defaults       print the development defaults as a starting configuration file
  kiosk-provision config schema         print the JSON Schema of the configuration file
  kiosk-provision ca init|serve|token|revoke|list
                                        the development CA with EST (RFC 7030) for tests and demos;
                                        \`kiosk-provision ca --help\` lists its options
  kiosk-provision init | renew | status  enrol this device, renew its certificate, show its identity;
                                        \`kiosk-provision init --help\` lists their options
  kiosk-provision --help

Exit codes: 0 ok, 1 invalid configuration (each problem is listed with its key) or another typed failure, 2 usage error.
See docs/configuration.md for every key and its environment variable, docs/provisioning.md for the CA.`;

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

runCli('kiosk-provision', async () => {
  const [command, sub, ...rest] = process.argv.slice(2);
  if (command === 'config' && sub === 'check' && rest.length <= 1) {
    print(checkConfigFile(rest[0], process.env));
    return 0;
  }
  if (command === 'config' && sub === 'defaults' && rest.length === 0) {
    print(defaultConfig());
    return 0;
  }
  if (command === 'config' && sub === 'schema' && rest.length === 0) {
    print(configJsonSchema());
    return 0;
  }
  // Loaded on demand: the CA pulls in X.509, fastify and SQLite, which the config commands do not need.
  if (command === 'ca') return (await import('./ca-commands.js')).caCommand(process.argv.slice(3));
  if (command === 'init' || command === 'renew' || command === 'status') {
    const device = await import('./device-commands.js');
    const args = process.argv.slice(3);
    if (args[0] === '--help' || args[0] === '-h') {
      process.stdout.write(`${device.DEVICE_HELP}\n`);
      return 0;
    }
    if (command === 'init') return device.initCommand(args);
    return command === 'renew' ? device.renewCommand(args) : device.statusCommand(args);
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command === undefined ? 2 : 0;
  }
  throw new KioskError('USAGE', `unknown command "${process.argv.slice(2).join(' ')}"\n\n${HELP}`);
});
