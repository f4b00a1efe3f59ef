import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isKioskError } from '@kiosk/common';
import type { CommandApdu } from '../../src/smartcard/apdu.js';
import type { KeyAlgorithm } from '../../src/emrtd/crypto/kdf.js';
import { SecureMessaging } from '../../src/emrtd/sm/secure-messaging.js';

const NUM_RUNS = 3000;
const SEED = 9303;
const ALGORITHMS: KeyAlgorithm[] = ['3DES', 'AES-128', 'AES-192', 'AES-256'];
const KEY_LENGTH: Record<KeyAlgorithm, number> = { '3DES': 16, 'AES-128': 16, 'AES-192': 24, 'AES-256': 32 };

function pair(algorithm: KeyAlgorithm, ssc: number): { terminal: SecureMessaging; chip: SecureMessaging } {
  const kEnc = new Uint8Array(KEY_LENGTH[algorithm]).map((_, i) => 0x11 * (i + 1));
  const kMac = new Uint8Array(KEY_LENGTH[algorithm]).map((_, i) => 0x23 + 5 * i);
  const counter = new Uint8Array(algorithm === '3DES' ? 8 : 16);
  new DataView(counter.buffer).setUint32(counter.length - 4, ssc);
  return { terminal: SecureMessaging.fromKeys(algorithm, kEnc, kMac, counter), chip: SecureMessaging.fromKeys(algorithm, kEnc, kMac, counter) };
}

type Outcome = 'ok' | 'sm-failed';

/** Runs `fn`; a KioskError CARD_SM_FAILED is the expected failure, anything else thrown is a bug. */
function outcome(fn: () => unknown): Outcome {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (isKioskError(err, 'CARD_SM_FAILED')) return 'sm-failed';
    throw err;
  }
}

const algorithmArb = fc.constantFrom(...ALGORITHMS);
const sscArb = fc.integer({ min: 0, max: 0xffffffff });

const commandArb: fc.Arbitrary<CommandApdu> = fc.record(
  {
    cla: fc.constantFrom(0x00, 0x10),
    ins: fc.integer({ min: 0, max: 255 }).filter((ins) => (ins & 0xf0) !== 0x60 && (ins & 0xf0) !== 0x90),
    p1: fc.integer({ min: 0, max: 255 }),
    p2: fc.integer({ min: 0, max: 255 }),
    data: fc.uint8Array({ minLength: 1, maxLength: 400 }),
    le: fc.oneof(fc.integer({ min: 1, max: 256 }), fc.constantFrom(65536, 1000)),
  },
  { requiredKeys: ['cla', 'ins', 'p1', 'p2'] },
);

const responseArb = fc.record({
  data: fc.uint8Array({ maxLength: 400 }),
  sw: fc.constantFrom(0x9000, 0x6282, 0x6a82, 0x6b00),
});

/** One change to a message: flip a bit, replace, insert or delete a byte, or truncate. */
type Mutation = { kind: 'flip' | 'replace' | 'insert' | 'delete' | 'truncate'; at: number; value: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'replace', 'insert', 'delete', 'truncate'),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
});

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = m.at % bytes.length;
  const out = Array.from(bytes);
  switch (m.kind) {
    case 'flip':
      out[at] = (out[at] as number) ^ (1 << (m.value % 8));
      break;
    case 'replace':
      out[at] = (out[at] as number) === m.value ? m.value ^ 0xff : m.value;
      break;
    case 'insert':
      out.splice(at, 0, m.value);
      break;
    case 'delete':
      out.splice(at, 1);
      break;
    case 'truncate':
      out.length = at;
      break;
  }
  return Uint8Array.from(out);
}

/** Bytes shaped like a protected message (the right tags, random contents) to get past the TLV checks. */
const protectedShapedArb = fc
  .tuple(
    fc.constantFrom(0x87, 0x85, 0x97, 0x99, 0x8e, 0x53),
    fc.uint8Array({ maxLength: 40 }),
    fc.uint8Array({ minLength: 8, maxLength: 8 }),
    fc.constantFrom(Uint8Array.of(0x90, 0x00), Uint8Array.of(0x6a, 0x82)),
  )
  .map(([tag, value, mac, sw]) => Uint8Array.from([tag, value.length, ...value, 0x8e, 0x08, ...mac, ...sw]));

describe('secure messaging under fuzzing (fast-check, fixed seed)', () => {
  it(`unwrapResponse on ${NUM_RUNS} arbitrary inputs: CARD_SM_FAILED, or a bare error status word`, () => {
    const counts = { ok: 0, 'sm-failed': 0 };
    fc.assert(
      fc.property(algorithmArb, sscArb, fc.oneof(fc.uint8Array({ maxLength: 300 }), protectedShapedArb), (algorithm, ssc, bytes) => {
        const { terminal } = pair(algorithm, ssc);
        let sw = 0;
        const result = outcome(() => (sw = terminal.unwrapResponse(bytes).sw));
        counts[result]++;
        if (result === 'ok') {
          expect(bytes.length).toBe(2);
          expect(sw >> 8 >= 0x63 || sw === 0x6282).toBe(true);
        }
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    console.log(`unwrapResponse arbitrary: ${counts['sm-failed']} CARD_SM_FAILED, ${counts.ok} bare error SW`);
    expect(counts.ok + counts['sm-failed']).toBe(NUM_RUNS);
    expect(counts['sm-failed']).toBeGreaterThan(NUM_RUNS / 2);
  });

  it(`unwrapCommand on ${NUM_RUNS} arbitrary inputs: always CARD_SM_FAILED`, () => {
    const header = fc.tuple(fc.constantFrom(0x0c, 0x1c, 0x00), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }));
    const shapedCommand = fc.tuple(header, protectedShapedArb).map(([h, body]) => Uint8Array.from([...h, body.length - 2, ...body.subarray(0, -2), 0x00]));
    let failures = 0;
    fc.assert(
      fc.property(algorithmArb, sscArb, fc.oneof(fc.uint8Array({ maxLength: 300 }), shapedCommand), (algorithm, ssc, bytes) => {
        expect(outcome(() => pair(algorithm, ssc).chip.unwrapCommand(bytes))).toBe('sm-failed');
        failures++;
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    console.log(`unwrapCommand arbitrary: ${failures} CARD_SM_FAILED`);
    expect(failures).toBe(NUM_RUNS);
  });

  it(`unwrapCommand on ${NUM_RUNS} mutated protected commands: always CARD_SM_FAILED`, () => {
    const counts: Record<string, number> = {};
    fc.assert(
      fc.property(algorithmArb, sscArb, commandArb, mutationArb, (algorithm, ssc, command, mutation) => {
        const { terminal, chip } = pair(algorithm, ssc);
        const wrapped = terminal.wrapCommand(command);
        expect(outcome(() => chip.unwrapCommand(mutate(wrapped, mutation)))).toBe('sm-failed');
        counts[mutation.kind] = (counts[mutation.kind] ?? 0) + 1;
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    console.log(`unwrapCommand mutated: ${JSON.stringify(counts)} all CARD_SM_FAILED`);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(NUM_RUNS);
  });

  it(`unwrapResponse on ${NUM_RUNS} mutated protected responses: always CARD_SM_FAILED`, () => {
    const counts: Record<string, number> = {};
    fc.assert(
      fc.property(algorithmArb, sscArb, responseArb, mutationArb, (algorithm, ssc, response, mutation) => {
        const { terminal, chip } = pair(algorithm, ssc);
        // Both sides at the same SSC, as after one command.
        chip.unwrapCommand(terminal.wrapCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 256 }));
        const wrapped = chip.wrapResponse(response);
        expect(outcome(() => terminal.unwrapResponse(mutate(wrapped, mutation)))).toBe('sm-failed');
        counts[mutation.kind] = (counts[mutation.kind] ?? 0) + 1;
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    console.log(`unwrapResponse mutated: ${JSON.stringify(counts)} all CARD_SM_FAILED`);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(NUM_RUNS);
  });

  it(`the same ${NUM_RUNS} messages unmutated unwrap to the original`, () => {
    fc.assert(
      fc.property(algorithmArb, sscArb, commandArb, responseArb, (algorithm, ssc, command, response) => {
        const { terminal, chip } = pair(algorithm, ssc);
        const unwrapped = chip.unwrapCommand(terminal.wrapCommand(command));
        expect(unwrapped).toEqual({ ...command, data: command.data && command.data.length > 0 ? command.data : undefined });
        const back = terminal.unwrapResponse(chip.wrapResponse(response));
        expect(back.sw).toBe(response.sw);
        expect(Buffer.from(back.data).equals(Buffer.from(response.data))).toBe(true);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
  });
});
