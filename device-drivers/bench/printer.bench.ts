import sharp from 'sharp';
import type { BenchCase, BenchSuite } from '@kiosk/common/bench';
import { rasterImage } from '../src/printer/escpos-encoder.js';
import { layoutEscPos, renderEscPos } from '../src/printer/escpos-render.js';
import { composeQueueTicket, type QueueTicket } from '../src/printer/queue-ticket.js';
import { packGreyscale } from '../src/printer/text-raster.js';

// The queue ticket as the kiosk sends it (Vietnamese lines as raster bands, time and reference in the printer's
// font, the QR as native GS ( k commands the printer encodes itself) against the common alternative of printing
// the whole ticket as one raster image: bytes on the line and the time they take on a 115200 baud serial printer
// (8N1: 10 bits per byte). Times to compose the ticket and to render it in the simulated printer are measured.
const ticket: QueueTicket = {
  facility: { vi: 'Bệnh viện Đa khoa tỉnh Thừa Thiên Huế', en: 'Thua Thien Hue Provincial General Hospital' },
  service: { vi: 'Khoa Khám bệnh – Nội tổng quát', en: 'Outpatient – General internal medicine' },
  number: 'A023',
  issuedAt: new Date('2025-03-12T07:05:00Z'),
  reference: 'TK-7F3Q9X2M',
};
const SERIAL_BYTES_PER_MS = 115_200 / 10 / 1000;

let ours: Uint8Array;
let wholeImage: Uint8Array;

const suite: BenchSuite = {
  title: 'receipt printer (queue ticket, 80 mm)',
  async setup() {
    ours = await composeQueueTicket(ticket);
    // The same ticket, drawn by the simulated printer, sent back as one GS v 0 image (QR included).
    const [png] = await renderEscPos(ours, { paperWidthDots: 576 });
    const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
    wholeImage = rasterImage(packGreyscale(data, info.width, info.height));
  },
  cases: (): BenchCase[] => [
    { kind: 'figure', name: 'ticket bytes sent', unit: 'bytes', lowerIsBetter: true, samples: 1, ours: () => ours.length, peers: { 'whole ticket as one raster image': () => wholeImage.length } },
    {
      kind: 'figure',
      name: 'ticket transfer at 115200 baud',
      unit: 'ms',
      lowerIsBetter: true,
      samples: 1,
      ours: () => ours.length / SERIAL_BYTES_PER_MS,
      peers: { 'whole ticket as one raster image': () => wholeImage.length / SERIAL_BYTES_PER_MS },
    },
    { kind: 'time', name: 'compose the ticket (ESC/POS, Vietnamese rasterised)', ours: () => composeQueueTicket(ticket), timeMs: 2000 },
    {
      kind: 'time',
      name: 'simulated printer: ESC/POS to PNG',
      ours: () => renderEscPos(ours, { paperWidthDots: 576 }),
      peers: { 'layout only (no drawing)': () => layoutEscPos(ours, { paperWidthDots: 576 }) },
      timeMs: 2000,
    },
  ],
};

export default suite;
