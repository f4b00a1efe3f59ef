import { KioskError, isSensitiveKey, scrubText } from '@kiosk/common';

/**
 * What may go into the store. Face images and card images are never stored (the API has no field for them), so any
 * value that looks like one is refused rather than encrypted: binary buffers, data URLs, base64 that starts with an
 * image signature, long base64 runs, and keys named like an image.
 */
const IMAGE_KEYS = new Set(['photo', 'image', 'faceimage', 'portrait', 'picture', 'selfie', 'dg2', 'chipphoto', 'liveframe', 'frame', 'jpeg', 'jpg', 'png', 'jp2']);
// Base64 text (16+ characters) that starts with the encoding of a JPEG, PNG, JPEG 2000 (box or codestream), GIF,
// BMP or RIFF/WebP signature; only the characters fully determined by the signature bytes are matched.
const IMAGE_BASE64 = /^(\/9j\/|iVBORw0KGg|AAAADGpQ|\/0\/\/|R0lGOD|Qk|UklGR)[A-Za-z0-9+/=_-]{10,}$/;
const LONG_BASE64 = /[A-Za-z0-9+/=_-]{1024,}/;
const MAX_STRING = 8192;

function reject(path: string, why: string): never {
  throw new KioskError('STORE_FIELD_REJECTED', `${path}: ${why}`, { details: { field: path } });
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Checks a JSON-shaped value (personal fields, a delivery payload) for anything image-like. */
export function assertNoImages(value: unknown, path: string): asserts value is JsonValue {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) reject(path, 'numbers must be finite');
    return;
  }
  if (typeof value === 'string') {
    if (value.length > MAX_STRING) reject(path, `text longer than ${MAX_STRING} characters (images are never stored)`);
    if (/^data:/i.test(value) || IMAGE_BASE64.test(value) || LONG_BASE64.test(value)) reject(path, 'looks like an encoded image; face and card images are never stored');
    return;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) reject(path, 'binary data is not stored (face and card images never are)');
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertNoImages(v, `${path}[${i}]`));
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      if (IMAGE_KEYS.has(k.replace(/[-_]/g, '').toLowerCase())) reject(`${path}.${k}`, 'image fields are not stored');
      assertNoImages(v, `${path}.${k}`);
    }
    return;
  }
  reject(path, `a ${typeof value} is not JSON data`);
}

export type Verdict = Record<string, string | number | boolean | null>;

/**
 * The verdict summary is stored in clear (it is what `stats` and `export` show), so it must hold no personal data:
 * flat, short values, no personal-data key names and no ID-number-shaped digits.
 */
export function assertVerdict(verdict: unknown): asserts verdict is Verdict {
  if (verdict === null || typeof verdict !== 'object' || Array.isArray(verdict)) reject('verdict', 'must be an object');
  for (const [k, v] of Object.entries(verdict)) {
    if (isSensitiveKey(k)) reject(`verdict.${k}`, 'personal data belongs in the encrypted citizen fields, not the verdict');
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) reject(`verdict.${k}`, 'verdict values are strings, numbers, booleans or null');
    if (typeof v === 'number' && !Number.isFinite(v)) reject(`verdict.${k}`, 'numbers must be finite');
    if (typeof v === 'string' && (v.length > 200 || scrubText(v) !== v)) reject(`verdict.${k}`, 'verdict text is short and holds no ID numbers');
  }
}

/** Free text that is stored in clear (last delivery error, request references): ID-shaped numbers are scrubbed. */
export function clearText(text: string, max = 500): string {
  return scrubText(text).slice(0, max);
}
