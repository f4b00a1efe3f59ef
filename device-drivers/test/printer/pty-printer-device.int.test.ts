import { once } from 'node:events';
import { access, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KioskError } from '@kiosk/common';
import { cut, initialize, lineFeed, text } from '../../src/printer/escpos-encoder.js';
import { concatBytes } from '../../src/encoding/bytes.js';
import { DevicePrinter } from '../../src/printer/printer.js';
import { PtyPrinterDevice } from '../../src/printer/pty-printer-device.js';
import { SimulatedPrinter, type PrintedPage } from '../../src/printer/simulated-printer.js';
import { socatMissing } from '../../src/qr/simulated-scanners.js';

const receipt = (line: string): Uint8Array => concatBytes(initialize(), text(line), lineFeed(), cut());

describe.skipIf(socatMissing())('PtyPrinterDevice (socat pty + DevicePrinter)', () => {
  it('renders each job the DevicePrinter writes, survives a malformed one, and takes the device away on stop', async () => {
    const devicePath = join(await mkdtemp(join(tmpdir(), 'pty-printer-')), 'ttyPRN');
    const device = new PtyPrinterDevice({ devicePath, printer: new SimulatedPrinter({ paperWidthDots: 384 }), idleMs: 100 });
    const pages: PrintedPage[] = [];
    const errors: KioskError[] = [];
    device.on('page', (page) => pages.push(page));
    device.on('error', (err) => errors.push(err));
    await device.start();
    try {
      const printer = new DevicePrinter({ path: devicePath });
      await printer.print(concatBytes(receipt('one'), receipt('two')));
      await once(device, 'page');
      // A raster header promising more rows than follow: the simulated printer rejects the burst, typed.
      await printer.print(Uint8Array.of(0x1d, 0x76, 0x30, 0, 9, 0, 9, 0));
      await once(device, 'error');
      await printer.print(receipt('three'));
      await once(device, 'page');
      expect(pages.map((p) => p.sequence)).toEqual([1, 2, 3]);
      expect(errors.map((e) => e.code)).toEqual(['ESCPOS_MALFORMED']);
      expect(printer.status()).toBe('ready');
    } finally {
      await device.stop();
    }
    await expect(access(devicePath)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
