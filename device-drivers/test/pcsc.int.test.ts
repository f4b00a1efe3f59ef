import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { decodeResponse, encodeCommand, swHex } from '../src/smartcard/apdu.js';
import { ProbeCard, PROBE_CARD_AID } from '../src/smartcard/vpcd/probe-card.js';
import { PcscHarness, pcscSkipReason, vpcdReaderName } from '../src/testing/index.js';

const run = promisify(execFile);
const kioskCard = fileURLToPath(new URL('../bin/kiosk-card.js', import.meta.url));
const selectProbe = encodeCommand({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0x0c, data: PROBE_CARD_AID });

// The real PC/SC path: pcscd + vsmartcard-vpcd + the pcsclite binding + our service; the card is software.
describe.skipIf(pcscSkipReason())('PC/SC through pcscd and vsmartcard-vpcd', () => {
  let harness: PcscHarness;
  beforeAll(async () => {
    harness = await PcscHarness.start();
  });
  afterAll(async () => {
    await harness?.stop();
  });

  it('lists both virtual readers', async () => {
    const names = (await harness.service.listReaders()).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining([vpcdReaderName(0), vpcdReaderName(1)]));
  });

  it('sees the inserted card with its ATR and exchanges APDUs with it', async () => {
    const card = new ProbeCard();
    const inserted = await harness.insert(card, 0);
    expect(Buffer.from(inserted.reader.atr ?? []).equals(Buffer.from(card.atr))).toBe(true);

    const session = await harness.service.connect(inserted.reader.name);
    expect(session.protocolName).toBe('T=1');
    expect(swHex(decodeResponse(await session.transmit(selectProbe)).sw)).toBe('9000');
    const wrongAid = encodeCommand({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0x0c, data: Uint8Array.of(0xa0, 0, 0, 2, 0x47, 0x10, 1) });
    expect(swHex(decodeResponse(await session.transmit(wrongAid)).sw)).toBe('6A82');
    const c1 = decodeResponse(await session.transmit(encodeCommand({ cla: 0, ins: 0x84, p1: 0, p2: 0, le: 8 })));
    const c2 = decodeResponse(await session.transmit(encodeCommand({ cla: 0, ins: 0x84, p1: 0, p2: 0, le: 8 })));
    expect(c1.data.length).toBe(8);
    expect(Buffer.from(c1.data).equals(Buffer.from(c2.data))).toBe(false);
    expect(swHex(decodeResponse(await session.transmit(Uint8Array.of(0, 0x70, 0, 0))).sw)).toBe('6D00');
    await session.close();
    await inserted.remove();
  });

  it('reports a card pulled mid-session as CARD_REMOVED on the next command', async () => {
    const inserted = await harness.insert(new ProbeCard(), 1);
    const session = await harness.service.connect(inserted.reader.name);
    await inserted.remove();
    try {
      await session.transmit(selectProbe);
      expect.unreachable();
    } catch (err) {
      expect(isKioskError(err, 'CARD_REMOVED')).toBe(true);
    }
    await session.close();
  });

  it('`kiosk-card readers --json` shows the card and its ATR', async () => {
    const card = new ProbeCard();
    const inserted = await harness.insert(card, 0);
    const { stdout } = await run(process.execPath, [kioskCard, 'readers', '--json']);
    const readers = JSON.parse(stdout) as Array<{ name: string; cardPresent: boolean; atr: string | null }>;
    expect(readers).toContainEqual({ name: vpcdReaderName(0), cardPresent: true, atr: Buffer.from(card.atr).toString('hex').toUpperCase() });
    expect(readers).toContainEqual({ name: vpcdReaderName(1), cardPresent: false, atr: null });
    await inserted.remove();
  });

  it('gives PCSC_NO_READER for an unknown reader', async () => {
    await expect(harness.service.connect('No Such Reader')).rejects.toSatisfy((err: unknown) => isKioskError(err, 'PCSC_NO_READER'));
  });
});
