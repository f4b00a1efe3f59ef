import { describe, expect, it } from 'vitest';
import { pkcs11KeyUri } from '@kiosk/sync-agent';

describe('pkcs11KeyUri (RFC 7512, as libp11 reads it)', () => {
  it('percent-encodes token and key labels and names the PIN file, never a PIN', () => {
    // libp11 0.4.12 found a SoftHSM2 key under exactly these encodings (checked by hand).
    expect(pkcs11KeyUri({ tokenLabel: 'kiosk ward;1', keyLabel: 'dev key/1', pinFile: '/etc/kiosk/token.pin' })).toBe(
      'pkcs11:token=kiosk%20ward%3B1;object=dev%20key%2F1;type=private?pin-source=file:/etc/kiosk/token.pin',
    );
  });

  it('refuses a PIN file path a URI query cannot carry', () => {
    for (const pinFile of ['/tmp/a?b.pin', '/tmp/a&b.pin', '/tmp/a#b.pin']) {
      expect(() => pkcs11KeyUri({ tokenLabel: 'kiosk', keyLabel: 'device', pinFile }), pinFile).toThrow(expect.objectContaining({ code: 'PKCS11_PIN_UNAVAILABLE' }));
    }
  });
});
