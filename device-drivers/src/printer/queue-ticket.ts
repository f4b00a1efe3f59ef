/**
 * The queue ticket a kiosk prints: facility, service, the big queue number, time, a QR with the ticket reference
 * and an instruction, Vietnamese first and English second.
 *
 * No personal data goes on the ticket, not even initials: tickets are left on waiting-room seats and in bins, and
 * initials next to a department (an HIV or psychiatric clinic) already say too much. Counters call the number;
 * the QR carries only an opaque reference that the queue system resolves.
 *
 * Vietnamese lines go out as raster images (see text-raster.ts); the time and the reference are ASCII and use the
 * printer's own font, which is sharper and lighter to send.
 */
import { KioskError } from '@kiosk/common';
import { concatBytes } from '../encoding/bytes.js';
import {
  align,
  bold,
  cut,
  feedLines,
  initialize,
  lineFeed,
  qrCode,
  rasterImage,
  text,
} from './escpos-encoder.js';
import { renderTextRaster, type TextLine } from './text-raster.js';

export interface BilingualText {
  vi: string;
  en?: string;
}

export interface QueueTicket {
  facility: BilingualText;
  service: BilingualText;
  /** The number called at the counter, e.g. "A023". */
  number: string;
  issuedAt: Date;
  /** Opaque ticket reference put in the QR code and printed under it: printable ASCII, no personal data. */
  reference: string;
  /** What to do next; a default wait-for-your-number instruction when absent. */
  instruction?: BilingualText;
}

export type PaperWidth = '80mm' | '58mm';

/** Printable dots across the paper at 203 dpi. */
export const PAPER_DOTS: Record<PaperWidth, number> = { '80mm': 576, '58mm': 384 };

export interface QueueTicketOptions {
  paper?: PaperWidth;
  /** Time zone of the printed time (default Asia/Ho_Chi_Minh: the kiosk's clock may run in UTC). */
  timeZone?: string;
}

const DEFAULT_INSTRUCTION: BilingualText = {
  vi: 'Vui lòng chờ đến khi số của bạn hiện trên màn hình.',
  en: 'Please wait until your number is shown on the screen.',
};
const REFERENCE_PATTERN = /^[\x21-\x7e]{1,64}$/;
const NUMBER_PATTERN = /^[\p{L}\p{N}-]{1,8}$/u;

function usage(message: string): KioskError {
  return new KioskError('USAGE', message, { details: { device: 'printer' } });
}

/** "dd/MM/yyyy HH:mm" in the given zone, ASCII only so the printer font can print it. */
export function formatTicketTime(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('day')}/${part('month')}/${part('year')} ${part('hour')}:${part('minute')}`;
}

function bilingual(value: BilingualText, viSize: number, enSize: number, viBold: boolean): TextLine[] {
  const lines: TextLine[] = [{ text: value.vi, size: viSize, bold: viBold }];
  if (value.en) lines.push({ text: value.en, size: enSize });
  return lines;
}

/** The ticket as ESC/POS bytes for the paper width, ending with a partial cut. */
export async function composeQueueTicket(ticket: QueueTicket, options: QueueTicketOptions = {}): Promise<Uint8Array> {
  if (!REFERENCE_PATTERN.test(ticket.reference)) throw usage('ticket reference must be 1..64 printable ASCII characters');
  if (!NUMBER_PATTERN.test(ticket.number)) throw usage('queue number must be 1..8 letters, digits or dashes');
  const width = PAPER_DOTS[options.paper ?? '80mm'];
  // Sizes are set for 80 mm paper and scaled down for 58 mm so the layout keeps its proportions.
  const size = (dots80: number): number => Math.round((dots80 * width) / PAPER_DOTS['80mm']);
  const rule = text('-'.repeat(Math.floor(width / 12)));

  const [header, service, label, number, instruction] = await Promise.all([
    renderTextRaster(bilingual(ticket.facility, size(28), size(22), true), width),
    renderTextRaster(bilingual(ticket.service, size(34), size(24), true), width),
    renderTextRaster(bilingual({ vi: 'SỐ THỨ TỰ', en: 'QUEUE NUMBER' }, size(28), size(22), true), width),
    renderTextRaster([{ text: ticket.number, size: size(150), bold: true }], width),
    renderTextRaster(bilingual(ticket.instruction ?? DEFAULT_INSTRUCTION, size(24), size(20), false), width),
  ]);

  return concatBytes(
    initialize(),
    align('center'),
    rasterImage(header),
    rule,
    lineFeed(),
    rasterImage(service),
    rasterImage(label),
    rasterImage(number),
    bold(true),
    text(formatTicketTime(ticket.issuedAt, options.timeZone ?? 'Asia/Ho_Chi_Minh')),
    bold(false),
    lineFeed(),
    feedLines(1),
    qrCode(ticket.reference, { moduleSize: width >= PAPER_DOTS['80mm'] ? 6 : 4, errorLevel: 'M' }),
    text(ticket.reference),
    lineFeed(),
    rule,
    lineFeed(),
    rasterImage(instruction),
    feedLines(3),
    cut({ partial: true })
  );
}
