/**
 * Whether `err` is OpenSSL refusing its input: node:crypto gives those errors an ERR_OSSL_* code (a key that does
 * not decode, a number with no inverse, a signature not below the modulus). That is what malformed card data
 * causes. Its other errors (ERR_INVALID_ARG_*, ...) mean node:crypto was called wrongly, which is our bug and must
 * not be read as a verdict on the card.
 */
export function isOpenSslError(err: unknown): err is Error & { code: string } {
  const code: unknown = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_OSSL_');
}
