import { KioskError, isKioskError, parseCliArgs, runCommands } from '@kiosk/common';
import { readImageFile } from '../image/decode.js';
import { parseIdQr, type IdQrResult } from '../qr/cccd-qr.js';
import { createDecoder } from '../qr/decode/create-decoder.js';
import { DECODER_NAMES, type QrDecoder } from '../qr/decode/decoder.js';
import { toGray } from '../qr/decode/gray-image.js';
import { QrFramePipeline } from '../qr/decode/pipeline.js';

const HELP = `kiosk-qr: QR codes from images

Usage:
  kiosk-qr decode IMAGE... [--decoder NAME] [--json]
      decode the QR code in each image (PNG, JPEG, WebP, TIFF, GIF) and print its text and, for a CCCD QR, its
      parsed fields and the chip access keys derived from them. A failing image does not stop the others.
      --decoder  pipeline (default: zxing-wasm, then harder attempts and the other decoders on failure),
                 ${DECODER_NAMES.join(', ')} (one decoder, one attempt)
      --json     one JSON array, an object per image
  kiosk-qr --help

The QR is not signed: its fields are a hint until the card's chip confirms them.
Exit codes: 0 every image decoded, 1 at least one failed (QR_NOT_FOUND, QR_IMAGE_UNREADABLE, QR_DECODE_FAILED),
2 usage error, 70 internal error.`;

type Reader = (path: string) => Promise<{ text: string; eci: boolean | undefined; decoder: string; step?: string }>;

function makeReader(name: string): Reader {
  const notFound = (path: string): KioskError => new KioskError('QR_NOT_FOUND', `no readable QR code in ${path}`, { details: { path } });
  if (name === 'pipeline') {
    return async (path) => {
      // A fresh pipeline per image: a region remembered from one file means nothing in the next.
      const found = await new QrFramePipeline().decode(await readImageFile(path, 'QR_IMAGE_UNREADABLE'));
      if (!found) throw notFound(path);
      return { text: found.text, eci: found.eci, decoder: found.decoder, step: found.step };
    };
  }
  if (!(DECODER_NAMES as readonly string[]).includes(name)) throw new KioskError('USAGE', `unknown decoder "${name}"\n\n${HELP}`);
  const decoder: QrDecoder = createDecoder(name);
  return async (path) => {
    const found = await decoder.decode(toGray(await readImageFile(path, 'QR_IMAGE_UNREADABLE')));
    if (!found) throw notFound(path);
    return { text: found.text, eci: found.eci, decoder: found.decoder };
  };
}

/** The parse result for printing: the error as its JSON form. */
function parsedJson(parsed: IdQrResult): unknown {
  return parsed.kind === 'invalid-cccd' ? { ...parsed, error: parsed.error.toJSON() } : parsed;
}

const date = (d: { day: number; month: number; year: number } | undefined): string =>
  d ? `${String(d.day).padStart(2, '0')}/${String(d.month).padStart(2, '0')}/${d.year}` : '-';

function describe(parsed: IdQrResult): string[] {
  if (parsed.kind === 'unknown') return ['  format: unknown (raw text above)'];
  if (parsed.kind === 'invalid-cccd') return [`  format: CCCD QR, invalid: [${parsed.error.code}] ${parsed.error.message}`];
  return [
    '  format: CCCD QR (unsigned: a hint until the chip confirms it)',
    `  ID number: ${parsed.idNumber}`,
    `  old ID number: ${parsed.oldIdNumber ?? '-'}`,
    `  full name: ${parsed.fullName}`,
    `  date of birth: ${date(parsed.dateOfBirth)}`,
    `  sex: ${parsed.sex === 'male' ? 'Nam' : parsed.sex === 'female' ? 'Nữ' : '-'}`,
    `  place of residence: ${parsed.placeOfResidence ?? '-'}`,
    `  date of issue: ${date(parsed.dateOfIssue)}`,
    ...(parsed.extraFields.length > 0 ? [`  extra fields: ${parsed.extraFields.join(' | ')}`] : []),
    `  CAN: ${parsed.accessKeys.can.can}`,
  ];
}

async function decodeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs({ args, options: { decoder: { type: 'string', default: 'pipeline' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true }, HELP);
  if (positionals.length === 0) throw new KioskError('USAGE', `give at least one image\n\n${HELP}`);
  const read = makeReader(values.decoder);
  const results: unknown[] = [];
  let failed = 0;
  for (const path of positionals) {
    try {
      const found = await read(path);
      const parsed = parseIdQr(found.text);
      if (values.json) results.push({ file: path, ok: true, ...found, parsed: parsedJson(parsed) });
      else process.stdout.write(`${[`${path}: decoded by ${found.decoder}${found.step ? ` (${found.step})` : ''}${found.eci ? ', ECI' : ''}`, `  text: ${found.text}`, ...describe(parsed)].join('\n')}\n`);
    } catch (err) {
      if (!isKioskError(err)) throw err;
      failed++;
      if (values.json) results.push({ file: path, ok: false, error: err.toJSON() });
      else process.stderr.write(`${path}: error [${err.code}]: ${err.message}\n`);
    }
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return failed > 0 ? 1 : 0;
}

runCommands('kiosk-qr', HELP, {
  decode: decodeCommand,
});
