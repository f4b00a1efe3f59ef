import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isKioskError } from '@kiosk/common';
import { ProbeCard, PROBE_CARD_AID } from '../src/smartcard/vpcd/probe-card.js';
import { contactlessAtr } from '../src/smartcard/vpcd/virtual-card.js';
import { VpcdLink } from '../src/smartcard/vpcd/vpcd-link.js';

// The vpcd side played by a local TCP server, to exercise framing edge cases (split frames, several frames in one
// segment) that the real vpcd rarely produces. The real pcscd + vpcd path is covered by pcsc.int.test.ts.
let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

async function fakeVpcd(): Promise<{ port: number; peer: Promise<Socket> }> {
  server = createServer();
  const peer = once(server, 'connection').then(([s]) => s as Socket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, peer };
}

function frame(payload: number[]): Buffer {
  return Buffer.from([payload.length >> 8, payload.length & 0xff, ...payload]);
}

function readFrames(socket: Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const frames: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const n = buf.readUInt16BE(0);
        frames.push(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        if (frames.length === count) resolve(frames);
      }
    });
  });
}

describe('VpcdLink', () => {
  it('answers the ATR request and APDUs in order, across split and merged TCP segments', async () => {
    const { port, peer } = await fakeVpcd();
    const card = new ProbeCard();
    const link = await VpcdLink.connect(card, { port });
    const socket = await peer;
    const answers = readFrames(socket, 3);
    const select = [0x00, 0xa4, 0x04, 0x0c, PROBE_CARD_AID.length, ...PROBE_CARD_AID];
    const all = Buffer.concat([frame([0x01]), frame([0x04]), frame(select), frame([0x00, 0x84, 0x00, 0x00, 0x08])]);
    // Byte by byte for the first frames, then the rest in one segment.
    for (const b of all.subarray(0, 5)) socket.write(Buffer.of(b));
    socket.write(all.subarray(5));
    const [atr, selected, challenge] = await answers;
    expect(atr).toEqual(Buffer.from(card.atr));
    expect(selected?.toString('hex')).toBe('9000');
    expect(challenge?.length).toBe(10);
    expect(challenge?.subarray(8).toString('hex')).toBe('9000');
    await link.remove();
    expect(link.isOpen).toBe(false);
  });

  it('resets the card on power-on so no session state survives re-insertion', async () => {
    const { port, peer } = await fakeVpcd();
    const card = new ProbeCard();
    const link = await VpcdLink.connect(card, { port });
    const socket = await peer;
    const answers = readFrames(socket, 2);
    socket.write(frame([0x00, 0xa4, 0x04, 0x0c, PROBE_CARD_AID.length, ...PROBE_CARD_AID]));
    // Power-on, then a command: frames are handled in order, so its answer proves the reset was processed.
    socket.write(Buffer.concat([frame([0x01]), frame([0x00, 0x84, 0x00, 0x00, 0x08])]));
    const [selected] = await answers;
    expect(selected?.toString('hex')).toBe('9000');
    expect(card.selected).toBe(false);
    expect(card.commands).toBe(2);
    await link.remove();
  });

  it('fails with a typed error when nothing listens', async () => {
    const { port } = await fakeVpcd();
    server?.close();
    await once(server!, 'close');
    try {
      await VpcdLink.connect(new ProbeCard(), { port });
      expect.unreachable();
    } catch (err) {
      expect(isKioskError(err, 'VPCD_CONNECT_FAILED')).toBe(true);
    }
  });
});

describe('contactlessAtr', () => {
  it('builds the PC/SC Part 3 ATR with a TCK that XORs T0..TCK to zero', () => {
    const atr = contactlessAtr(Uint8Array.from([0x4b, 0x49, 0x4f, 0x53, 0x4b]));
    expect(Buffer.from(atr).toString('hex').toUpperCase()).toBe('3B8580014B494F534B51');
    expect(atr.subarray(1).reduce((x, b) => x ^ b, 0)).toBe(0);
  });
});
