import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KioskError, isKioskError, loadConfig, parseCliArgs } from '@kiosk/common';
import { PcscService } from '../smartcard/pcsc/pcsc-service.js';
import { assertReaderConfig, isReaderAllowed, readerRefusal } from '../smartcard/reader-policy.js';
import { accessKeyFromOptions, type AccessKey } from '../emrtd/access/access-keys.js';
import type { CardRead, Holder } from '../emrtd/parse-card.js';
import { CardSession, type CardSessionProgress } from '../card-session/card-session.js';
import type { Verdict } from '../verify/passive-authentication.js';
import { accessKeysFromQr } from './qr-access-keys.js';
import { formatVerdict, verdictJson, verificationSetup, VERIFY_OPTIONS, VERIFY_OPTIONS_HELP } from './verification-options.js';

export const READ_USAGE = `kiosk-card read [--reader NAME] (--can N | --mrz DOCNO,YYMMDD,YYMMDD | --qr TEXT) [--json] [--out DIR]
                 [--no-bac] [--wait SECONDS] [--trust PATH] [--policy P] [--at YYYY-MM-DD] [--allow-test-pki]`;

export const READ_HELP = `  ${READ_USAGE}
      read a CCCD / Căn cước chip (or any ICAO eMRTD), verify it (Passive Authentication against the trust
      store, Active Authentication with DG15's key, Chip Authentication with DG14's) and print the holder's data
      and the verdict: each check passed / failed / not-possible, and the decision under the policy.
      Exit 1 when the policy does not accept the card: rejected, or sent to staff review (the data and the
      verdict are still printed).
      Access key: --can (6 digits; on CCCD the last 6 digits of the ID number), --mrz (document number = last 9
      digits of the ID, date of birth, date of expiry), or --qr (the text of the card's QR code: PACE with its CAN
      first, then BAC with the expiry dates the renewal rule gives).
      --json      machine-readable output on stdout
      --out DIR   also write the raw files (EF_CardAccess.bin, EF_COM.bin, EF_SOD.bin, DG1.bin, DG2.bin, ...) and
                  the face image(s) to DIR
      --no-bac    refuse cards that offer only BAC (policy)
      --wait S    seconds to wait for a card (default 30)
      --reader N  use the reader whose name contains N (default: any reader). With devices.mode 'real' the
                  default is devices.cardReader, one of the two must name the reader, and readers named like
                  virtual ones ("Virtual PCD", jCardSim, ...) are refused (CARD_READER_REFUSED)
${VERIFY_OPTIONS_HELP}
      Progress is shown on stderr when it is a terminal.`;

const LABELS: Array<[keyof Holder, string]> = [
  ['idNumber', 'Số định danh / ID number'],
  ['fullName', 'Họ và tên / Full name'],
  ['dateOfBirth', 'Ngày sinh / Date of birth'],
  ['sex', 'Giới tính / Sex'],
  ['nationality', 'Quốc tịch / Nationality'],
  ['ethnicity', 'Dân tộc / Ethnicity'],
  ['religion', 'Tôn giáo / Religion'],
  ['placeOfOrigin', 'Quê quán / Place of origin'],
  ['placeOfResidence', 'Nơi thường trú / Residence'],
  ['identificationMarks', 'Đặc điểm nhận dạng / Marks'],
  ['dateOfIssue', 'Ngày cấp / Issued'],
  ['dateOfExpiry', 'Có giá trị đến / Valid until'],
  ['fatherName', 'Cha / Father'],
  ['motherName', 'Mẹ / Mother'],
  ['spouseName', 'Vợ/chồng / Spouse'],
  ['oldIdNumber', 'Số CMND cũ / Old ID number'],
];

function progressPrinter(enabled: boolean): { onProgress: (e: CardSessionProgress) => void; done: () => void } {
  let shown = false;
  const write = (line: string): void => {
    if (!enabled) return;
    process.stderr.write(`\r\x1b[2K${line}`);
    shown = true;
  };
  return {
    onProgress(e) {
      if (e.phase === 'access') write(`access: ${e.protocol} (${e.keyKind.toUpperCase()})`);
      if (e.phase === 'file') {
        const total = e.totalBytes ?? e.bytesRead;
        const width = 24;
        const filled = total > 0 ? Math.round((e.bytesRead / total) * width) : width;
        write(`[${e.index + 1}/${e.count}] ${e.file.padEnd(13)} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${(e.bytesRead / 1024).toFixed(1)}/${(total / 1024).toFixed(1)} KB`);
      }
      if (e.phase === 'restart') write(`${e.file}: ${e.reason}; new session, resuming at byte ${e.resumeAt}`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

function writeOut(dir: string, read: CardRead): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const [name, bytes] of read.files) {
    const file = join(dir, `${name.replace('.', '_')}.bin`);
    writeFileSync(file, bytes, { mode: 0o600 });
    written.push(file);
  }
  read.faces.forEach((face, i) => {
    const file = join(dir, `face-${i + 1}.${face.format === 'jpeg' ? 'jpg' : 'jp2'}`);
    writeFileSync(file, face.image, { mode: 0o600 });
    written.push(file);
  });
  return written;
}

function summary(read: CardRead, holder: Holder, durationMs: number): Record<string, unknown> {
  return {
    access: read.access,
    holder,
    mrz: read.mrz ? { format: read.mrz.format, documentNumber: read.mrz.documentNumber, dateOfExpiry: read.mrz.dateOfExpiry, lines: read.mrz.lines } : null,
    faces: read.faces.map((f) => ({ format: f.format, width: f.width, height: f.height, bytes: f.image.length })),
    files: Object.fromEntries([...read.files].map(([name, bytes]) => [name, bytes.length])),
    skipped: read.skipped,
    problems: read.problems,
    deviations: read.deviations,
    durationMs: Math.round(durationMs),
  };
}

export async function readCommand(args: string[], help: string): Promise<number> {
  const { values } = parseCliArgs(
    {
      args,
      options: {
        reader: { type: 'string' },
        can: { type: 'string' },
        mrz: { type: 'string' },
        qr: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        'no-bac': { type: 'boolean' },
        wait: { type: 'string' },
        ...VERIFY_OPTIONS,
      },
      strict: true,
    },
    help,
  );
  const given = [values.can, values.mrz, values.qr].filter((v) => v !== undefined).length;
  if (given !== 1) throw new KioskError('USAGE', `give exactly one access key: --can, --mrz or --qr\n\n${help}`);
  const keys: AccessKey[] = values.qr !== undefined ? accessKeysFromQr(values.qr) : [accessKeyFromOptions({ can: values.can, mrz: values.mrz })];
  const waitSeconds = Number(values.wait ?? 30);
  if (!Number.isFinite(waitSeconds) || waitSeconds <= 0) throw new KioskError('USAGE', `--wait must be a positive number of seconds\n\n${help}`);

  // With real devices only the named physical reader is read (reader-policy.ts), as in the kiosk.
  const { mode, cardReader } = loadConfig().devices;
  const match = values.reader ?? (mode === 'real' ? cardReader : '');
  assertReaderConfig(mode, match, values.reader === undefined ? '--reader or devices.cardReader (KIOSK_DEVICES_CARD_READER)' : '--reader');
  const allowed = (name: string): boolean => isReaderAllowed(mode, name);

  const setup = await verificationSetup(values, help);
  const service = PcscService.open();
  try {
    const readers = await service.listReaders();
    const matching = readers.filter((r) => r.name.includes(match));
    if (matching.length === 0) {
      throw new KioskError('PCSC_NO_READER', `no reader matches "${match}"; readers: ${readers.map((r) => r.name).join(', ') || 'none'}`);
    }
    const usable = matching.filter((r) => allowed(r.name));
    if (usable.length === 0) throw readerRefusal(mode, matching[0]?.name ?? match) ?? new KioskError('PCSC_NO_READER', `no usable reader matches "${match}"`);
    if (!usable.some((r) => r.cardPresent) && process.stderr.isTTY) {
      process.stderr.write('Đặt thẻ lên đầu đọc… / Place the card on the reader…\n');
    }
    const reader = await service.waitForCard(match, waitSeconds * 1000, allowed);
    const session = await service.connect(reader.name);
    const progress = progressPrinter(process.stderr.isTTY === true && !values.json);
    const started = performance.now();
    const card = new CardSession(session, { keys, atr: session.atr, allowBac: !values['no-bac'], onProgress: progress.onProgress });
    let read: CardRead | undefined;
    let verdict: Verdict;
    let holder: Holder;
    try {
      read = await card.read();
      verdict = await card.verify(setup);
      holder = card.holder();
    } catch (err) {
      // A card whose holder does not parse is not verified, but --out still keeps its files for a look at them.
      if (read && values.out && isKioskError(err, 'LDS_MALFORMED')) writeOut(values.out, read);
      throw err;
    } finally {
      progress.done();
      await session.close();
    }
    const durationMs = performance.now() - started;
    const written = values.out ? writeOut(values.out, read) : [];
    const code = verdict.decision === 'accept' ? 0 : 1;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ reader: reader.name, ...summary(read, holder, durationMs), verification: verdictJson(verdict), written }, null, 2)}\n`);
      return code;
    }
    for (const [key, label] of LABELS) {
      const value = holder[key];
      if (value !== undefined && value !== '') process.stdout.write(`${label.padEnd(30)} ${value}\n`);
    }
    const face = read.faces[0];
    process.stdout.write(`${'Ảnh / Photo'.padEnd(30)} ${face ? `${face.format.toUpperCase()} ${face.width}x${face.height}, ${(face.image.length / 1024).toFixed(1)} KB` : 'none'}\n`);
    const access = read.access;
    process.stdout.write(`\naccess: ${access.protocol} with ${access.keyKind.toUpperCase()}${access.paceProtocol ? ` (${access.paceProtocol}, parameter ${access.parameterId ?? '-'})` : ''}; read in ${(durationMs / 1000).toFixed(1)} s\n`);
    process.stdout.write(`files: ${[...read.files].map(([n, b]) => `${n} ${b.length} B`).join(', ')}\n`);
    for (const s of read.skipped) process.stdout.write(`skipped: ${s.file}: ${s.reason}\n`);
    for (const p of read.problems) process.stdout.write(`problem: ${p.file}: [${p.code}] ${p.message}\n`);
    for (const d of read.deviations) process.stdout.write(`deviation: ${d.code}: ${d.message}${d.count > 1 ? ` (${d.count} times)` : ''}\n`);
    if (written.length) process.stdout.write(`wrote ${written.length} files to ${values.out}\n`);
    process.stdout.write(`\n${formatVerdict(verdict)}`);
    return code;
  } finally {
    service.close();
  }
}
