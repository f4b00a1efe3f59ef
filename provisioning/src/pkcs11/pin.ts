import { readFileSync, statSync } from 'node:fs';
import { KioskError } from '@kiosk/common';

/** Environment variable a service manager can set instead of a PIN file (systemd `LoadCredential=` or `Environment=`). */
export const PIN_ENV = 'KIOSK_PKCS11_PIN';

/**
 * The token's user PIN from a 0600 file (no line break) or, without a file, from KIOSK_PKCS11_PIN. Never
 * from argv, which every user on the machine can read in /proc, and never logged.
 */
export function readPin(pinFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (pinFile === undefined) {
    const pin = env[PIN_ENV];
    if (!pin) throw new KioskError('PKCS11_PIN_UNAVAILABLE', `no PKCS#11 PIN: set provisioning.pkcs11.pinFile to a 0600 file or ${PIN_ENV}`);
    return pin;
  }
  let text: string;
  try {
    const mode = statSync(pinFile).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KioskError('PKCS11_PIN_UNAVAILABLE', `the PIN file ${pinFile} has mode ${mode.toString(8)}: group/other may read it; chmod 600 it`, { details: { path: pinFile, mode: mode.toString(8) } });
    }
    text = readFileSync(pinFile, 'utf8');
  } catch (cause) {
    if (cause instanceof KioskError) throw cause;
    throw new KioskError('PKCS11_PIN_UNAVAILABLE', `the PIN file ${pinFile} cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause, details: { path: pinFile } });
  }
  if (text.length === 0) throw new KioskError('PKCS11_PIN_UNAVAILABLE', `the PIN file ${pinFile} is empty`, { details: { path: pinFile } });
  // OpenSSL's pkcs11 engine reads the same file verbatim (pin-source), so a newline would be part of its PIN.
  if (/[\r\n]/.test(text)) throw new KioskError('PKCS11_PIN_UNAVAILABLE', `the PIN file ${pinFile} holds a line break: write it without one (printf '%s' PIN > file)`, { details: { path: pinFile } });
  return text;
}
