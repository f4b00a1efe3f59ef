import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import { decodeCommand, encodeResponse } from '../../src/smartcard/apdu.js';
import { InProcessTransceiver } from '../../src/smartcard/in-process-transceiver.js';
import { LinkModelTransceiver } from '../../src/smartcard/link-model.js';
import type { VirtualCard } from '../../src/smartcard/vpcd/virtual-card.js';
import { defaultReadPlan, maxShortRead, readElementaryFile, PartialReadError } from '../../src/emrtd/lds/file-reader.js';
import { encodeTlv } from '../../src/encoding/tlv.js';
import { CardStatusError } from '../../src/emrtd/iso7816/status.js';

/**
 * A plain (no secure messaging) file-system card with switchable refusals, to drive the read strategy through
 * every branch. The full virtual CCCD card (fixtures) runs the same reader over SM and real PC/SC.
 */
class FileCard implements VirtualCard {
  readonly atr = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01);
  selected: number | undefined;
  commands: string[] = [];
  failAfter = Infinity;

  constructor(
    private readonly files: Map<number, Uint8Array>,
    private readonly opts: { sfi?: boolean; extended?: boolean; exactLe?: boolean } = {},
  ) {}

  reset(): void {
    this.selected = undefined;
  }

  powerOff(): void {}

  process(bytes: Uint8Array): Uint8Array {
    if (this.commands.length >= this.failAfter) throw new Error('link dropped');
    const c = decodeCommand(bytes);
    this.commands.push(`${c.ins.toString(16)}:${c.p1.toString(16)}`);
    if (c.ins === 0xa4 && c.p1 === 0x02) {
      const fid = ((c.data?.[0] ?? 0) << 8) | (c.data?.[1] ?? 0);
      if (!this.files.has(fid)) return encodeResponse(new Uint8Array(0), 0x6a82);
      this.selected = fid;
      return encodeResponse(new Uint8Array(0), 0x9000);
    }
    if (c.ins === 0xb0) {
      let offset = (c.p1 << 8) | c.p2;
      if (c.p1 & 0x80) {
        if (!this.opts.sfi) return encodeResponse(new Uint8Array(0), 0x6a86);
        this.selected = 0x0100 | (c.p1 & 0x1f);
        offset = c.p2;
      }
      const file = this.selected === undefined ? undefined : this.files.get(this.selected);
      if (!file) return encodeResponse(new Uint8Array(0), 0x6986);
      const le = c.le ?? 256;
      if (le > 256 && !this.opts.extended) return encodeResponse(new Uint8Array(0), 0x6700);
      const rest = file.length - offset;
      if (this.opts.exactLe && le > rest && rest < 256) return encodeResponse(new Uint8Array(0), 0x6c00 | rest);
      const data = file.slice(offset, offset + le);
      return encodeResponse(data, data.length < le ? 0x6282 : 0x9000);
    }
    return encodeResponse(new Uint8Array(0), 0x6d00);
  }
}

const file = (n: number): Uint8Array => encodeTlv(0x75, Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff));
const DG2 = { name: 'DG2', fileId: 0x0102, sfi: 0x02 };

describe('maxShortRead', () => {
  it('is 231 under 3DES SM, 223 under AES SM, 256 in the clear', () => {
    expect(maxShortRead(8)).toBe(231);
    expect(maxShortRead(16)).toBe(223);
    expect(maxShortRead(undefined)).toBe(256);
  });
});

describe('readElementaryFile', () => {
  it('reads a 20 KB file in one extended READ BINARY by SFI (no SELECT)', async () => {
    const content = file(20_000);
    const card = new FileCard(new Map([[0x0102, content]]), { sfi: true, extended: true });
    const link = new LinkModelTransceiver(new InProcessTransceiver(card));
    const progress: number[] = [];
    const got = await readElementaryFile(link, DG2, defaultReadPlan({ extendedLength: true, blockSize: 16 }), (p) => progress.push(p.bytesRead));
    expect(Buffer.from(got).equals(Buffer.from(content))).toBe(true);
    expect(link.snapshot().apdus).toBe(1);
    expect(progress).toEqual([content.length]);
  });

  it('uses short reads of 223 bytes after one SFI read when extended length is off', async () => {
    const content = file(1000);
    const card = new FileCard(new Map([[0x0102, content]]), { sfi: true });
    const link = new LinkModelTransceiver(new InProcessTransceiver(card));
    const got = await readElementaryFile(link, DG2, defaultReadPlan({ extendedLength: false, blockSize: 16 }));
    expect(Buffer.from(got).equals(Buffer.from(content))).toBe(true);
    expect(link.snapshot().apdus).toBe(Math.ceil(content.length / 223));
    expect(card.commands[0]).toBe('b0:82');
  });

  it('falls back to SELECT when the card refuses SFI, and to short reads when it refuses extended length, and remembers both', async () => {
    const content = file(600);
    const card = new FileCard(new Map([[0x0102, content], [0x010d, file(50)]]), { sfi: false, extended: false });
    const plan = defaultReadPlan({ extendedLength: true, blockSize: 8 });
    expect(Buffer.from(await readElementaryFile(new InProcessTransceiver(card), DG2, plan)).equals(Buffer.from(content))).toBe(true);
    expect(plan).toMatchObject({ useSfi: false, extendedLength: false });
    card.commands = [];
    await readElementaryFile(new InProcessTransceiver(card), { name: 'DG13', fileId: 0x010d, sfi: 0x0d }, plan);
    expect(card.commands).toEqual(['a4:2', 'b0:0']);
  });

  it('honours 6Cxx (exact length) answers', async () => {
    const content = file(300);
    const card = new FileCard(new Map([[0x0102, content]]), { exactLe: true });
    const got = await readElementaryFile(new InProcessTransceiver(card), DG2, defaultReadPlan({ extendedLength: false, blockSize: 16 }));
    expect(Buffer.from(got).equals(Buffer.from(content))).toBe(true);
  });

  it('reports a missing file as a status error and a truncated file as LDS_MALFORMED', async () => {
    const card = new FileCard(new Map([[0x0102, file(500).subarray(0, 400)]]));
    await expect(readElementaryFile(new InProcessTransceiver(card), { name: 'DG11', fileId: 0x010b }, defaultReadPlan({ extendedLength: false, blockSize: undefined }))).rejects.toSatisfy(
      (e: unknown) => e instanceof CardStatusError && e.sw === 0x6a82,
    );
    await expect(readElementaryFile(new InProcessTransceiver(card), DG2, defaultReadPlan({ extendedLength: false, blockSize: undefined }))).rejects.toSatisfy((e: unknown) => isKioskError(e, 'LDS_MALFORMED'));
  });

  it('hands back what it read when the link drops, and resumes from there', async () => {
    const content = file(2000);
    const card = new FileCard(new Map([[0x0102, content]]), { sfi: true });
    card.failAfter = 3;
    const plan = defaultReadPlan({ extendedLength: false, blockSize: 16 });
    let partial: Uint8Array | undefined;
    try {
      await readElementaryFile(new InProcessTransceiver(card), DG2, plan);
    } catch (err) {
      expect(err).toBeInstanceOf(PartialReadError);
      partial = (err as PartialReadError).bytes;
    }
    expect(partial?.length).toBe(3 * 223);
    card.failAfter = Infinity;
    const got = await readElementaryFile(new InProcessTransceiver(card), DG2, plan, undefined, partial);
    expect(Buffer.from(got).equals(Buffer.from(content))).toBe(true);
  });

  it('reads any file size correctly under any plan (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 5000 }), fc.boolean(), fc.boolean(), fc.boolean(), async (n, sfi, extended, exact) => {
        const content = file(n);
        const card = new FileCard(new Map([[0x0102, content]]), { sfi, extended, exactLe: exact });
        const got = await readElementaryFile(new InProcessTransceiver(card), DG2, defaultReadPlan({ extendedLength: extended, blockSize: 16 }));
        return Buffer.from(got).equals(Buffer.from(content));
      }),
      { numRuns: 300 },
    );
  });
});
