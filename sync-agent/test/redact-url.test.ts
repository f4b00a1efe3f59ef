import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinUrl, redactUrl } from '../src/transport/index.js';

// The BHYT gateway takes credentials in the query string: a logged URL must never carry a query value or userinfo.

const RUNS = 2000;
const SEED = 1406;
/** Secrets carry a marker the generated hosts and paths cannot contain (they are lower-case). */
const secret = fc.stringMatching(/^[A-Za-z0-9._~-]{0,24}$/).map((s) => `ZQSECRET${s}`);
const segment = fc.stringMatching(/^[a-z0-9._~-]{1,12}$/);
const host = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6().map((ip) => `[${ip}]`));

describe('redactUrl', () => {
  it(`keeps scheme, host and path; never a query value, fragment or userinfo (fast-check, ${RUNS} runs, seed ${SEED})`, () => {
    fc.assert(
      fc.property(
        host,
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.array(segment, { maxLength: 5 }),
        fc.option(fc.tuple(secret, fc.option(secret, { nil: undefined })), { nil: undefined }),
        fc.array(fc.tuple(segment, secret), { maxLength: 4 }),
        fc.option(secret, { nil: undefined }),
        (h, port, path, userinfo, query, fragment) => {
          const auth = userinfo ? `${userinfo[0]}${userinfo[1] === undefined ? '' : `:${userinfo[1]}`}@` : '';
          const q = query.length > 0 ? `?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : '';
          const url = `https://${auth}${h}${port === undefined ? '' : `:${port}`}/${path.join('/')}${q}${fragment === undefined ? '' : `#${fragment}`}`;
          const out = redactUrl(url);
          expect(out).not.toContain('ZQSECRET');
          expect(out).not.toMatch(/[?#@]/);
          const parsed = new URL(url);
          expect(out).toBe(`https://${parsed.host}${parsed.pathname}`);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it(`whatever the input, the output has no query, fragment or userinfo (fast-check, ${RUNS} runs, seed ${SEED})`, () => {
    const anyUrl = fc.webUrl({ authoritySettings: { withUserInfo: true, withPort: true, withIPv4: true, withIPv6: true }, withQueryParameters: true, withFragments: true });
    fc.assert(
      fc.property(fc.oneof(fc.string(), anyUrl, anyUrl.map((u) => u.replace(/^https?:/, 'mailto:')), fc.string().map((s) => `https://${s}`)), (text) => {
        const out = redactUrl(text);
        if (out.startsWith('[')) {
          expect(['[not a URL]', '[not an http(s) URL]']).toContain(out);
          return;
        }
        const parsed = new URL(out);
        expect(parsed.search + parsed.hash + parsed.username + parsed.password).toBe('');
        expect(out).not.toMatch(/[?#]/);
        expect(out).toBe(`${parsed.protocol}//${parsed.host}${parsed.pathname}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('a gateway URL with its token and a card number in the query', () => {
    expect(redactUrl('https://user:pass@gw.example:8443/api/egw/KQNVKCB?token=SECRET&id_token=X&username=u&password=p&cardNumber=GD4001090012345')).toBe('https://gw.example:8443/api/egw/KQNVKCB');
    expect(redactUrl(new URL('https://gw.example/x?token=SECRET#frag'))).toBe('https://gw.example/x');
    expect(redactUrl('mailto:someone@example.com?subject=SECRET')).toBe('[not an http(s) URL]');
    expect(redactUrl('token=SECRET')).toBe('[not a URL]');
  });
});

describe('joinUrl', () => {
  it('puts the contract path under the base path, keeps the base query, and posts FHIR to the base itself', () => {
    expect(joinUrl('https://tthc.example/kiosk/v1', '/dossiers').href).toBe('https://tthc.example/kiosk/v1/dossiers');
    expect(joinUrl('https://tthc.example/kiosk/v1/', '/dossiers').href).toBe('https://tthc.example/kiosk/v1/dossiers');
    expect(joinUrl('https://his.example/fhir', '/').href).toBe('https://his.example/fhir');
    expect(joinUrl('https://his.example', '/').href).toBe('https://his.example/');
    expect(joinUrl('https://his.example/fhir', '/$check-deliveries').href).toBe('https://his.example/fhir/$check-deliveries');
    expect(joinUrl('https://gw.example/v1?token=SECRET', '/insurance-cards/lookup').href).toBe('https://gw.example/v1/insurance-cards/lookup?token=SECRET');
  });
});
