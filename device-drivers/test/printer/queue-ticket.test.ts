import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { composeQueueTicket, formatTicketTime, type QueueTicket } from '../../src/printer/queue-ticket.js';
import { layoutEscPos } from '../../src/printer/escpos-render.js';
import { SimulatedPrinter } from '../../src/printer/simulated-printer.js';
import { decodeQrInImage as decodeQrInPng } from '../../src/qr/index.js';

const RESULTS = join(import.meta.dirname, '../../../test-results');

const ticket: QueueTicket = {
  facility: { vi: 'Bệnh viện Đa khoa tỉnh Thừa Thiên Huế', en: 'Thua Thien Hue Provincial General Hospital' },
  service: { vi: 'Khoa Khám bệnh – Nội tổng quát', en: 'Outpatient – General internal medicine' },
  number: 'A023',
  issuedAt: new Date('2025-03-12T07:05:00Z'),
  reference: 'TK-7F3Q9X2M',
};

/** Fraction of dark pixels in rows [top, bottom) of a greyscale image. */
function darkFraction(data: Buffer, width: number, top: number, bottom: number): number {
  const band = data.subarray(top * width, bottom * width);
  return band.filter((v) => v < 128).length / band.length;
}

describe('queue ticket', () => {
  it('formats the time in Vietnam time, ASCII only', () => {
    expect(formatTicketTime(ticket.issuedAt, 'Asia/Ho_Chi_Minh')).toBe('12/03/2025 14:05');
  });

  it('prints through the simulated printer to a PNG with the title, the big number and a QR that decodes to the reference', async () => {
    const bytes = await composeQueueTicket(ticket);
    const printer = new SimulatedPrinter();
    await printer.print(bytes);
    const [page] = printer.pages();
    expect(page?.sequence).toBe(1);
    await mkdir(RESULTS, { recursive: true });
    await writeFile(join(RESULTS, 'queue-ticket.png'), page!.png);

    const { data, info } = await sharp(page!.png).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect(info.width).toBe(576);

    // Bands come from the layout of the same bytes: rasters are title, service, label, number, instruction.
    const [laid] = layoutEscPos(bytes, { paperWidthDots: 576 });
    const rasters = laid!.items.filter((item) => item.kind === 'raster');
    expect(rasters).toHaveLength(5);
    const band = (i: number): [number, number] => [rasters[i]!.top, rasters[i]!.top + rasters[i]!.image.height];
    const title = band(0);
    const number = band(3);
    expect(title[0]).toBe(0);
    expect(number[1] - number[0]).toBeGreaterThan(150);
    expect(darkFraction(data, info.width, ...title)).toBeGreaterThan(0.03);
    expect(darkFraction(data, info.width, ...number)).toBeGreaterThan(0.1);
    // The edge margin stays white in the number band: the big number was not clipped.
    for (let y = number[0]; y < number[1]; y++) expect(data.subarray(y * info.width, y * info.width + 4).every((v) => v === 255)).toBe(true);
    const qr = laid!.items.find((item) => item.kind === 'qr');
    expect(qr).toMatchObject({ data: 'TK-7F3Q9X2M', side: (21 + 8) * 6 });
    expect(await decodeQrInPng(page!.png)).toBe('TK-7F3Q9X2M');
    expect(laid!.items.some((item) => item.kind === 'text' && item.run.text === '12/03/2025 14:05')).toBe(true);
  });

  it('draws the Vietnamese lines with their diacritics', async () => {
    const plain = { ...ticket, facility: { vi: ticket.facility.vi.normalize('NFD').replace(/\p{M}/gu, '').replace(/Đ/g, 'D').replace(/đ/g, 'd') } };
    const titleInk = async (t: QueueTicket): Promise<{ dark: number; rows: Buffer }> => {
      const bytes = await composeQueueTicket({ ...t, facility: { vi: t.facility.vi } });
      const printer = new SimulatedPrinter();
      await printer.print(bytes);
      const { data, info } = await sharp(printer.pages()[0]!.png).greyscale().raw().toBuffer({ resolveWithObject: true });
      const title = layoutEscPos(bytes, { paperWidthDots: 576 })[0]!.items.find((item) => item.kind === 'raster')!;
      const rows = data.subarray(title.top * info.width, (title.top + title.image.height) * info.width);
      return { dark: rows.filter((v) => v < 128).length, rows };
    };
    expect(plain.facility.vi).toBe('Benh vien Da khoa tinh Thua Thien Hue');
    const vietnamese = await titleInk(ticket);
    const stripped = await titleInk(plain);
    // Ink in the title rows, and more of it than the same words without marks: the marks were drawn, not dropped.
    expect(vietnamese.dark).toBeGreaterThan(vietnamese.rows.length * 0.03);
    expect(vietnamese.dark).toBeGreaterThan(stripped.dark);
    expect(vietnamese.rows.equals(stripped.rows)).toBe(false);
  });

  it('lays out for 58 mm paper inside 384 dots, its QR still readable', async () => {
    const printer = new SimulatedPrinter({ paperWidthDots: 384 });
    await printer.print(await composeQueueTicket(ticket, { paper: '58mm' }));
    const meta = await sharp(printer.pages()[0]!.png).metadata();
    expect(meta.width).toBe(384);
    expect(await decodeQrInPng(printer.pages()[0]!.png)).toBe('TK-7F3Q9X2M');
    await writeFile(join(RESULTS, 'queue-ticket-58mm.png'), printer.pages()[0]!.png);
  });

  it('refuses a reference that is not short printable ASCII, and an odd queue number', async () => {
    await expect(composeQueueTicket({ ...ticket, reference: 'Nguyễn Văn A' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(composeQueueTicket({ ...ticket, reference: 'x'.repeat(65) })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(composeQueueTicket({ ...ticket, number: 'A 023' })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
