import { parseCliArgs, runCommands } from '@kiosk/common';
import { PcscService, type ReaderInfo } from '../smartcard/pcsc/pcsc-service.js';
import { READ_HELP, readCommand } from './card-read-command.js';
import { TRUST_HELP, trustCommand } from './trust-command.js';
import { VERIFY_HELP, verifyCommand } from './verify-command.js';

const HELP = `kiosk-card: smart-card readers and cards over PC/SC

Usage:
  kiosk-card readers [--json] [--watch]
      list PC/SC readers and the ATR of each card present; --watch prints reader and card events until Ctrl-C
${READ_HELP}
${VERIFY_HELP}
${TRUST_HELP}
  kiosk-card --help

Exit codes: 0 ok (read, verify: the card is accepted), 1 failure or a card the policy rejects or sends to staff
review (message names the error code and the card's status word), 2 usage error, 70 internal error.
Error codes: CARD_ACCESS_DENIED (access key rejected), CARD_REMOVED, CARD_UNSUPPORTED, CARD_STATUS_ERROR,
CARD_SM_FAILED, PCSC_UNAVAILABLE, PCSC_NO_READER, PCSC_TIMEOUT, LDS_MALFORMED, TRUST_FILE_INVALID,
TRUST_SOURCE_UNTRUSTED, TRUST_TEST_ANCHOR, CONFIG_INVALID, CONFIG_FILE_UNREADABLE.`;

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex').toUpperCase() : '');

function describe(r: ReaderInfo): string {
  return r.cardPresent ? `${r.name}\tcard present\tATR ${hex(r.atr)}` : `${r.name}\tempty`;
}

async function readers(args: string[]): Promise<number> {
  const { values } = parseCliArgs({ args, options: { json: { type: 'boolean' }, watch: { type: 'boolean' } }, strict: true }, HELP);
  const service = PcscService.open();
  const list = await service.listReaders();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(list.map((r) => ({ name: r.name, cardPresent: r.cardPresent, atr: hex(r.atr) || null })), null, 2)}\n`);
  } else if (list.length === 0) {
    process.stdout.write('no readers\n');
  } else {
    for (const r of list) process.stdout.write(`${describe(r)}\n`);
  }
  if (!values.watch) {
    service.close();
    return 0;
  }
  const emit = (event: string, detail: Record<string, unknown>): void => {
    const at = new Date().toISOString();
    process.stdout.write(values.json ? `${JSON.stringify({ at, event, ...detail })}\n` : `${at} ${event} ${Object.values(detail).join(' ')}\n`);
  };
  service.on('reader-attached', (name) => emit('reader-attached', { reader: name }));
  service.on('reader-detached', (name) => emit('reader-detached', { reader: name }));
  service.on('card-inserted', (r) => emit('card-inserted', { reader: r.name, atr: hex(r.atr) }));
  service.on('card-removed', (name) => emit('card-removed', { reader: name }));
  return new Promise<number>((resolve, reject) => {
    service.on('error', (err) => {
      service.close();
      reject(err);
    });
    process.once('SIGINT', () => {
      service.close();
      resolve(0);
    });
  });
}

runCommands('kiosk-card', HELP, {
  readers,
  read: (args) => readCommand(args, HELP),
  verify: (args) => verifyCommand(args, HELP),
  trust: (args) => trustCommand(args, HELP),
});
