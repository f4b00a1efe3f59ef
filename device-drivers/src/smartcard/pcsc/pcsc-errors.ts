import { KioskError } from '@kiosk/common';

/** Maps a pcsclite error (its message ends with the PC/SC return code, e.g. "(0x80100069)") to a typed error. */
export function pcscError(operation: string, err: unknown): KioskError {
  const message = err instanceof Error ? err.message : String(err);
  const code = /0x([0-9a-f]{8})/i.exec(message)?.[1]?.toLowerCase();
  switch (code) {
    case '80100069': // SCARD_W_REMOVED_CARD
    case '80100068': // SCARD_W_RESET_CARD
    case '8010000c': // SCARD_E_NO_SMARTCARD
    case '80100066': // SCARD_W_UNRESPONSIVE_CARD
      return new KioskError('CARD_REMOVED', `${operation}: the card was removed or stopped responding (${message})`, { cause: err, details: { pcscCode: code } });
    case '8010001d': // SCARD_E_NO_SERVICE
    case '8010001e': // SCARD_E_SERVICE_STOPPED
      return new KioskError('PCSC_UNAVAILABLE', `${operation}: pcscd is not running (${message})`, { cause: err, details: { pcscCode: code } });
    case '80100009': // SCARD_E_UNKNOWN_READER
    case '80100017': // SCARD_E_READER_UNAVAILABLE
      return new KioskError('PCSC_NO_READER', `${operation}: the reader is gone (${message})`, { cause: err, details: { pcscCode: code } });
    default:
      return new KioskError('CARD_TRANSMIT_FAILED', `${operation}: ${message}`, { cause: err, details: code ? { pcscCode: code } : undefined });
  }
}
