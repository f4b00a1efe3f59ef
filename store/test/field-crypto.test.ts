import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openField, sealField } from '../src/field-crypto.js';

describe('field sealing', () => {
  it('gives every one of 2,000 seals (several IV pool refills) its own IV, and each opens back', () => {
    const key = randomBytes(32);
    const ivs = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const sealed = sealField(key, 1, Buffer.from(`value ${i}`), `t.c:${i}`);
      ivs.add(sealed.subarray(5, 17).toString('hex'));
      expect(openField(key, sealed, `t.c:${i}`).toString()).toBe(`value ${i}`);
    }
    expect(ivs.size).toBe(2000);
  });
});
