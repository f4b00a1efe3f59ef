import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@kiosk/common';
import type { VirtualCard } from '@kiosk/device-drivers';
import { buildVirtualCard, PERSONAS, type CardBuildOptions } from '@kiosk/fixtures';
import { TransactionStore } from '@kiosk/store';
import type { ChipPhoto, FaceOutcome } from '../src/service/face-step.js';
import { IdentityCheck } from '../src/service/identity-check.js';
import { loadKioskTrust, type KioskTrust } from '../src/service/trust-setup.js';
import { InProcessReader } from './harness/in-process-reader.js';
import { simTrustEnv } from './harness/sim-devices.js';

const log = createLogger({ name: 'test', level: 'silent' });
const persona = PERSONAS[0]!;
const CAN = persona.idNumber.slice(6);

async function card(options: CardBuildOptions = {}): Promise<VirtualCard> {
  return (await buildVirtualCard(persona, { portrait: 'synthetic', ...options })).card;
}

describe('IdentityCheck on an in-process virtual CCCD, with the test PKI trust and a real store', () => {
  let dir: string;
  let store: TransactionStore;
  let trust: KioskTrust;
  const reader = new InProcessReader();
  let check: IdentityCheck;
  const events: unknown[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-identity-'));
    const config = loadConfig({ env: { KIOSK_TRUST_FOLDER: join(dir, 'trust'), ...(await simTrustEnv(dir)) } });
    trust = await loadKioskTrust(config, log);
    store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
    check = new IdentityCheck({ cards: reader, devicesMode: 'simulated', trust, recorder: store, log });
    check.on('event', (e) => events.push(e));
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("simulated devices without a CSCA in the trust folder trust the test PKI kiosk-sim setup wrote (devices.simTrustFolder), under the default profile's own public-service policy", () => {
    expect(trust.source).toBe('test-pki');
    expect(trust.trust.cscas()).toHaveLength(2);
    expect(trust.trust.crls()).toHaveLength(1);
    expect(trust.policy.name).toBe('public-service');
  });

  it('a genuine card read with its CAN is accepted; the answer holds only name, birth date, last 4 digits, photo and verdict', async () => {
    reader.insert(await card());
    events.length = 0;
    const response = await check.check(CAN);
    expect(response).toMatchObject({
      outcome: 'checked',
      verdict: { decision: 'accept', policy: 'public-service', checks: { sodSignature: 'passed', dsChain: 'passed', crl: 'passed', dataGroupHashes: 'passed', activeAuthentication: 'passed', chipAuthentication: 'passed' } },
      holder: { fullName: persona.fullName, dateOfBirth: persona.dateOfBirth, idLast4: persona.idNumber.slice(-4) },
    });
    if (response.outcome !== 'checked' || !response.holder) throw new Error('no holder');
    expect(Object.keys(response.holder).sort()).toEqual(['dateOfBirth', 'fullName', 'idLast4', 'photo']);
    expect(response.holder.photo).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    expect(JSON.stringify(response)).not.toContain(persona.idNumber);
    // Progress: reading percentages that only grow and end at 100, then verifying.
    const percents = events.flatMap((e) => ((e as { phase: string }).phase === 'reading' ? [(e as { percent: number }).percent] : []));
    expect(percents.at(-1)).toBe(100);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(events.at(-1)).toEqual({ type: 'identity-progress', phase: 'verifying' });

    const [recorded] = store.findByCitizen(persona.idNumber);
    expect(recorded).toMatchObject({
      kind: 'identity-verification',
      status: 'completed',
      verdict: { decision: 'accept', trust: 'test-pki', devices: 'simulated', reasons: null, dataGroupHashes: 'passed', chipAuthentication: 'passed' },
    });
    expect(recorded?.verdict.dsFingerprint).toMatch(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
    expect(recorded?.verdict.dsIssuer).toContain('CSCA Việt Nam (TEST)');
    expect(recorded?.citizen?.fields).toEqual({ fullName: persona.fullName, dateOfBirth: persona.dateOfBirth });
  });

  it('the chip photo is decoded once per check: the face step gets the pixels of the very image shown; a rejected card is never decoded', async () => {
    const given: ChipPhoto[] = [];
    const face = { run: (photo: ChipPhoto): Promise<FaceOutcome> => (given.push(photo), Promise.resolve({ decision: 'accepted', summary: { faceMatch: 'accepted' } })) };
    const withFace = new IdentityCheck({ cards: reader, devicesMode: 'simulated', trust, recorder: undefined, log, face });
    reader.insert(await card());
    const response = await withFace.check(CAN);
    expect(given).toHaveLength(1);
    const photo = given[0]!;
    if ('missing' in photo) throw new Error(`no chip photo: ${photo.missing}`);
    expect(photo.pixels).toMatchObject({ width: 360, height: 480, channels: 3 });
    expect(response).toMatchObject({ outcome: 'checked', face: 'accepted', holder: { photo: `data:image/jpeg;base64,${Buffer.from(photo.display.bytes).toString('base64')}` } });
    reader.insert(await card({ fault: 'tampered-dg13' }));
    expect(await withFace.check(CAN)).toMatchObject({ outcome: 'checked', holder: null, face: 'not-performed' });
    expect(given).toHaveLength(1);
  });

  it('a card with a tampered DG13 is rejected: no holder data on screen, and only its verdict recorded', async () => {
    reader.insert(await card({ fault: 'tampered-dg13' }));
    const before = store.stats();
    const response = await check.check(CAN);
    expect(response).toMatchObject({ outcome: 'checked', verdict: { decision: 'reject', checks: { dataGroupHashes: 'failed', sodSignature: 'passed' } }, holder: null });
    const after = store.stats();
    expect(after.transactions['identity-verification/rejected']).toBe((before.transactions['identity-verification/rejected'] ?? 0) + 1);
    expect(after.withPersonalData).toBe(before.withPersonalData);
  });

  it("a forger's card (his own CSCA named like Vietnam's, his own AA/CA keys) is rejected: no holder shown or kept, his issuer on record", async () => {
    reader.insert(await card({ fault: 'forged-csca' }));
    const before = store.stats();
    const response = await check.check(CAN);
    expect(response).toMatchObject({
      outcome: 'checked',
      verdict: { decision: 'reject', checks: { dsChain: 'not-possible', sodSignature: 'passed', activeAuthentication: 'passed', chipAuthentication: 'passed' } },
      holder: null,
      face: 'not-performed',
    });
    const after = store.stats();
    expect(after.transactions['identity-verification/rejected']).toBe((before.transactions['identity-verification/rejected'] ?? 0) + 1);
    expect(after.withPersonalData).toBe(before.withPersonalData);
    const last = [...store.exportRedacted(0)].at(-1);
    expect(last?.verdict).toMatchObject({ decision: 'reject', reasons: 'dsChain' });
    expect(last?.verdict.dsIssuer).toMatch(/=CSCA Việt Nam$/);
  });

  it('a cloned chip fails Active and Chip Authentication and is rejected', async () => {
    reader.insert(await card({ fault: 'cloned-chip' }));
    const response = await check.check(CAN);
    expect(response).toMatchObject({ outcome: 'checked', verdict: { decision: 'reject', checks: { activeAuthentication: 'failed', chipAuthentication: 'failed', dataGroupHashes: 'passed' } }, holder: null });
  });

  it('a wrong CAN leaves tries, the third locks the insertion, and a new insertion starts again', async () => {
    reader.insert(await card());
    expect(await check.check('000000')).toEqual({ outcome: 'wrong-can', triesLeft: 2 });
    expect(await check.check('111111')).toEqual({ outcome: 'wrong-can', triesLeft: 1 });
    expect(await check.check('222222')).toEqual({ outcome: 'locked' });
    // Locked even with the right CAN until the card comes out and goes in again.
    expect(await check.check(CAN)).toEqual({ outcome: 'locked' });
    reader.insert(await card());
    expect(await check.check(CAN)).toMatchObject({ outcome: 'checked', verdict: { decision: 'accept' } });
  });

  it('a card pulled mid-read answers card-removed; no card at all too', async () => {
    // The read takes 8 secured APDUs: pulled after them, at the first Active Authentication command, the chip
    // checks must not turn into "cloned chip".
    reader.insert(await card({ fault: 'pulled-mid-read', pullAfter: 8 }));
    expect(await check.check(CAN)).toEqual({ outcome: 'card-removed' });
    reader.insert(await card({ fault: 'pulled-mid-read', pullAfter: 4 }));
    expect(await check.check(CAN)).toEqual({ outcome: 'card-removed' });
    reader.card = undefined;
    expect(await check.check(CAN)).toEqual({ outcome: 'card-removed' });
  });

  it('refuses a second check while one runs (API_BUSY)', async () => {
    reader.insert(await card());
    const first = check.check(CAN);
    await expect(check.check(CAN)).rejects.toMatchObject({ code: 'API_BUSY' });
    expect((await first).outcome).toBe('checked');
  });
});

describe('loadKioskTrust', () => {
  it('simulated devices without a CSCA in trust.folder need the test trust store in devices.simTrustFolder (TRUST_STORE_MISSING naming kiosk-sim setup), never trust.folder itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-trust-'));
    try {
      const env = { KIOSK_TRUST_FOLDER: join(dir, 'trust'), KIOSK_DEVICES_SIM_TRUST_FOLDER: join(dir, 'sim-trust') };
      await expect(loadKioskTrust(loadConfig({ env }), log)).rejects.toMatchObject({ code: 'TRUST_STORE_MISSING', message: expect.stringContaining('kiosk-sim setup') as unknown });
      const same = { ...env, KIOSK_DEVICES_SIM_TRUST_FOLDER: join(dir, 'trust') };
      await expect(loadKioskTrust(loadConfig({ env: same }), log)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await simTrustEnv(dir);
      expect(await loadKioskTrust(loadConfig({ env }), log)).toMatchObject({ source: 'test-pki' });
      // Real devices never read it.
      await expect(loadKioskTrust(loadConfig({ env: { ...env, KIOSK_DEVICES_MODE: 'real' } }), log)).rejects.toMatchObject({ code: 'TRUST_STORE_MISSING' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('real devices refuse to start without a CSCA in the trust folder (TRUST_STORE_MISSING)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-trust-'));
    try {
      const config = loadConfig({ env: { KIOSK_DEVICES_MODE: 'real', KIOSK_TRUST_FOLDER: dir } });
      await expect(loadKioskTrust(config, log)).rejects.toMatchObject({ code: 'TRUST_STORE_MISSING', message: expect.stringContaining(dir) as unknown });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a folder with the CSCA but no CRL: hospital accepts, public-service sends to review (recorded as needs-review, nothing shown or kept), notary rejects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-trust-'));
    const store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
    try {
      const { createTestPki } = await import('@kiosk/fixtures');
      const { addToTrustFolder } = await import('@kiosk/device-drivers/verify');
      await addToTrustFolder(join(dir, 'trust'), createTestPki().csca.certificate);
      const reader = new InProcessReader();
      const outcomes: Record<string, unknown> = {};
      for (const profile of ['hospital', 'public-service', 'notary']) {
        const trust = await loadKioskTrust(loadConfig({ env: { KIOSK_TRUST_FOLDER: join(dir, 'trust'), KIOSK_DEVICE_PROFILE: profile } }), log);
        reader.insert(await card());
        outcomes[profile] = await new IdentityCheck({ cards: reader, devicesMode: 'simulated', trust, recorder: store, log }).check(CAN);
      }
      expect(outcomes.hospital).toMatchObject({ outcome: 'checked', verdict: { decision: 'accept', checks: { crl: 'not-possible' } }, holder: { fullName: persona.fullName } });
      expect(outcomes['public-service']).toMatchObject({ outcome: 'checked', verdict: { decision: 'needs-review', policy: 'public-service', checks: { crl: 'not-possible' } }, holder: null, face: 'not-performed' });
      expect(outcomes.notary).toMatchObject({ outcome: 'checked', verdict: { decision: 'reject', policy: 'notary', checks: { crl: 'not-possible' } }, holder: null });
      expect(store.stats().transactions).toMatchObject({ 'identity-verification/completed': 1, 'identity-verification/needs-review': 1, 'identity-verification/rejected': 1 });
      const review = [...store.exportRedacted(0)].find((t) => t.status === 'needs-review');
      expect(review?.verdict).toMatchObject({ decision: 'needs-review', policy: 'public-service', reasons: 'crl' });
      expect(store.stats().withPersonalData).toBe(1);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('real devices refuse a trust folder holding a test-PKI CSCA (TRUST_TEST_ANCHOR); simulated devices use it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-trust-'));
    try {
      const { createTestPki } = await import('@kiosk/fixtures');
      const { addToTrustFolder } = await import('@kiosk/device-drivers/verify');
      await addToTrustFolder(dir, createTestPki().csca.certificate);
      const env = { KIOSK_TRUST_FOLDER: dir, KIOSK_DEVICE_PROFILE: 'notary' };
      await expect(loadKioskTrust(loadConfig({ env: { ...env, KIOSK_DEVICES_MODE: 'real' } }), log)).rejects.toMatchObject({ code: 'TRUST_TEST_ANCHOR', message: expect.stringContaining('CSCA Việt Nam (TEST)') as unknown });
      const trust = await loadKioskTrust(loadConfig({ env: { ...env, KIOSK_DEVICES_MODE: 'simulated' } }), log);
      expect(trust.source).toBe('folder');
      expect(trust.policy.name).toBe('notary');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('real devices use a trust folder of CSCAs that are not test anchors, under the profile policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiosk-trust-'));
    try {
      const { createTestPki } = await import('@kiosk/fixtures');
      const { addToTrustFolder } = await import('@kiosk/device-drivers/verify');
      // Another seed's unmarked CSCA stands in for a real country's: not on the fingerprint list, no TEST in its name.
      await addToTrustFolder(dir, createTestPki('stand-in-for-a-real-csca').forgedCsca.certificate);
      const trust = await loadKioskTrust(loadConfig({ env: { KIOSK_DEVICES_MODE: 'real', KIOSK_TRUST_FOLDER: dir, KIOSK_DEVICE_PROFILE: 'hospital' } }), log);
      expect(trust.source).toBe('folder');
      expect(trust.trust.cscas()).toHaveLength(1);
      expect(trust.policy.name).toBe('hospital');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('trust.acceptWithoutCsca: listed states go to the policy, VNM and unknown states are refused', async () => {
    const { policyFor } = await import('../src/service/trust-setup.js');
    expect(policyFor(loadConfig({ env: { KIOSK_TRUST_ACCEPT_WITHOUT_CSCA: '["KHM"]' } })).unverifiableChainStates).toEqual(['KHM']);
    expect(() => loadConfig({ env: { KIOSK_TRUST_ACCEPT_WITHOUT_CSCA: '["VNM"]' } })).toThrow(/VNM cannot be listed/);
    expect(() => policyFor(loadConfig({ env: { KIOSK_TRUST_ACCEPT_WITHOUT_CSCA: '["ZZZ"]' } }))).toThrow(/ZZZ not an issuing state/);
  });
});
