/**
 * Personal-data redaction for anything that leaves the process as text (logs, error reports).
 * pino's built-in `redact` only matches fixed paths; personal data can sit at any depth (a card read, a QR parse),
 * so we match by key name at every depth and also scrub ID-number-shaped digit runs from free text.
 */
export const REDACTED = '[REDACTED]';

/** Key names (compared lower-case, without `_` and `-`) whose values are personal data or secrets. */
const SENSITIVE_KEYS = new Set(
  [
    'name', 'fullName', 'surname', 'givenNames', 'otherName', 'holderName',
    'idNumber', 'id12', 'cccd', 'cmnd', 'oldIdNumber', 'documentNumber', 'personalNumber', 'citizenId',
    'can', 'mrz', 'mrzLines', 'qr', 'qrText', 'rawQr',
    'dateOfBirth', 'dob', 'birthDate',
    'address', 'placeOfOrigin', 'placeOfResidence', 'residence', 'hometown',
    'fatherName', 'motherName', 'spouseName', 'father', 'mother', 'spouse', 'parents',
    'ethnicity', 'religion', 'identificationMarks', 'personalMarks',
    'phone', 'phoneNumber', 'email', 'insuranceNumber', 'bhyt',
    'face', 'faceImage', 'photo', 'portrait', 'embedding', 'dg2', 'dg13', 'dg1',
    'token', 'password', 'authorization', 'cookie', 'secret', 'privateKey', 'accessKey',
  ].map(normaliseKey),
);

function normaliseKey(key: string): string {
  return key.replace(/[-_]/g, '').toLowerCase();
}

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(normaliseKey(key));
}

// 12-digit personal ID numbers and 9-digit old ID (CMND) / document numbers, not part of a longer digit run.
const ID_NUMBER_PATTERN = /(?<!\d)(\d{12}|\d{9})(?!\d)/g;

// A URL's query string: some gateways (the BHYT check's among them) carry credentials or ID numbers there.
const URL_QUERY_PATTERN = /\b([a-z][a-z0-9+.-]*:\/\/[^\s?#]*)\?[^\s#]*/gi;

export function scrubText(text: string): string {
  return text.replace(URL_QUERY_PATTERN, `$1?${REDACTED}`).replace(ID_NUMBER_PATTERN, REDACTED);
}

/** Returns a copy of `value` with sensitive keys replaced and ID-shaped numbers scrubbed from strings. */
export function redactDeep(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, seen));
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Error) {
    return redactDeep({ ...value, type: value.name, message: value.message, stack: value.stack }, seen);
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = isSensitiveKey(key) && v !== undefined && v !== null ? REDACTED : redactDeep(v, seen);
  }
  return out;
}
