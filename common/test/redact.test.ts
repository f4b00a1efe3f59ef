import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createLogger } from '../src/logger.js';
import { REDACTED, redactDeep, scrubText } from '../src/redact.js';

// Synthetic persona values (no real person).
const ID12 = '001093000123';
const OLD_ID = '012345678';
const NAME = 'Nguyễn Văn An';

function captureLogger(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>>; raw: () => string } {
  let out = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const log = createLogger({ name: 'test', level: 'trace', destination });
  return { log, raw: () => out, lines: () => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('redactDeep', () => {
  it('replaces personal fields at any depth and keeps the rest', () => {
    const out = redactDeep({ kind: 'card-read', holder: { fullName: NAME, id_number: ID12, sex: 'M' }, list: [{ dateOfBirth: '05/01/1993' }] });
    expect(out).toEqual({ kind: 'card-read', holder: { fullName: REDACTED, id_number: REDACTED, sex: 'M' }, list: [{ dateOfBirth: REDACTED }] });
  });

  it('masks URL query strings (gateways put credentials there) and keeps the scheme, host and path', () => {
    expect(scrubText('GET https://bhyt.example.vn/api/check?user=kiosk&pass=s3cret failed')).toBe(`GET https://bhyt.example.vn/api/check?${REDACTED} failed`);
    expect(scrubText('see http://127.0.0.1:7480/health?x=1#top')).toBe(`see http://127.0.0.1:7480/health?${REDACTED}#top`);
    expect(scrubText('no query: https://city.example/dossiers and why?')).toBe('no query: https://city.example/dossiers and why?');
  });

  it('scrubs 12- and 9-digit ID numbers from free text but not longer or shorter digit runs', () => {
    expect(scrubText(`id ${ID12} old ${OLD_ID} ok`)).toBe(`id ${REDACTED} old ${REDACTED} ok`);
    expect(scrubText('sequence 1234567890123 port 8470')).toBe('sequence 1234567890123 port 8470');
  });

  it('handles cycles and byte arrays without dumping their content', () => {
    const a: Record<string, unknown> = { bytes: new Uint8Array([1, 2, 3]) };
    a.self = a;
    expect(redactDeep(a)).toEqual({ bytes: '[3 bytes]', self: '[Circular]' });
  });

  it('never lets an ID number through, whatever surrounds it (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.stringMatching(/^\d{12}$/), fc.string(), (before, id, after) => {
        const text = `${before} ${id} ${after}`;
        const scrubbed = scrubText(text);
        // The exact ID can only survive as part of a longer digit run, which is not an ID number.
        return !new RegExp(`(?<!\\d)${id}(?!\\d)`).test(scrubbed);
      }),
      { numRuns: 500 },
    );
  });
});

describe('createLogger', () => {
  it('prints a name or an ID number redacted, in fields and in the message', () => {
    const { log, raw, lines } = captureLogger();
    log.info({ holder: { name: NAME, idNumber: ID12 }, reader: 'Virtual PCD 00 00' }, `read card ${ID12} for %s`, OLD_ID);
    expect(raw()).not.toContain(ID12);
    expect(raw()).not.toContain(OLD_ID);
    expect(raw()).not.toContain('Nguyễn');
    const [line] = lines();
    expect(line).toMatchObject({ name: 'test', reader: 'Virtual PCD 00 00', holder: { name: REDACTED, idNumber: REDACTED } });
    expect(line?.msg).toBe(`read card ${REDACTED} for ${REDACTED}`);
  });

  it('redacts personal data carried by an error and by child bindings', () => {
    const { log, raw } = captureLogger();
    const child = log.child({ citizen: { fullName: NAME } });
    child.error({ err: new Error(`no record for ${ID12}`) }, 'lookup failed');
    expect(raw()).not.toContain(ID12);
    expect(raw()).not.toContain(NAME);
    expect(raw()).toContain('lookup failed');
  });
});
