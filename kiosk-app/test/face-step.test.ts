import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, isKioskError, loadConfig, type KioskConfig } from '@kiosk/common';
import { SimulatedCamera } from '@kiosk/device-drivers/camera';
import type { RawImage } from '@kiosk/device-drivers/image';
import { DEFAULT_FACE_MANIFEST } from '@kiosk/device-drivers/face';
import { buildVirtualCard, PERSONAS } from '@kiosk/fixtures';
import { TransactionStore, type NewTransaction, type StoredTransaction } from '@kiosk/store';
import { FaceStep } from '../src/service/face-step.js';
import { IdentityCheck } from '../src/service/identity-check.js';
import { loadKioskTrust, type KioskTrust } from '../src/service/trust-setup.js';
import { simDevicesEnv } from './harness/sim-devices.js';
import type { IdentityProgressEvent } from '../src/shared/identity-api.js';
import { InProcessReader } from './harness/in-process-reader.js';

const log = createLogger({ name: 'test', level: 'silent' });
const holder = PERSONAS[0]!;
// Another person (a different photo set) showing the holder's card to the camera.
const impostor = PERSONAS.find((p) => p.face.photoSet !== holder.face.photoSet)!;
const CAN = holder.idNumber.slice(6);

describe('face step: the real engine, the holder’s real chip photo (DG2) against simulated camera frames', () => {
  let dir: string;
  let store: TransactionStore;
  let trust: KioskTrust;
  const steps: FaceStep[] = [];

  /** The identity check with a simulated camera (KIOSK_DEVICES_CAMERA_* settings), recording into the real store. */
  async function checkWithCamera(settings: Record<string, string>, camera?: SimulatedCamera): Promise<{ check: IdentityCheck; recorded: () => StoredTransaction; events: IdentityProgressEvent[] }> {
    const config = loadConfig({ env: { ...settings, KIOSK_DEVICES_CAMERA_FPS: '30' } });
    const face = await FaceStep.start(config, log, camera ? { camera } : {});
    steps.push(face);
    const reader = new InProcessReader();
    reader.insert((await buildVirtualCard(holder)).card);
    const ids: string[] = [];
    const recorder = {
      recordTransaction: (input: NewTransaction) => {
        const recordedTx = store.recordTransaction(input);
        ids.push(recordedTx.id);
        return recordedTx;
      },
    };
    const check = new IdentityCheck({ cards: reader, devicesMode: 'simulated', trust, recorder, log, face });
    const events: IdentityProgressEvent[] = [];
    check.on('event', (e) => events.push(e));
    return { check, events, recorded: () => store.getTransaction(ids.at(-1)!)! };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-face-'));
    trust = await loadKioskTrust(loadConfig({ env: { KIOSK_TRUST_FOLDER: join(dir, 'trust'), ...(await simDevicesEnv(dir)) } }), log);
    store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
  });
  afterAll(async () => {
    for (const step of steps) await step.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the holder at the camera (their live photos in devices.cameraFrames, as kiosk-sim setup writes them): face matches, the card is accepted and the match is recorded without images', async () => {
    const { check, recorded, events } = await checkWithCamera(await simDevicesEnv(dir, holder));
    const response = await check.check(CAN);
    expect(response).toMatchObject({ outcome: 'checked', verdict: { decision: 'accept' }, face: 'accepted', holder: { fullName: holder.fullName } });
    expect(events).toContainEqual({ type: 'identity-progress', phase: 'face' });
    const tx = recorded();
    expect(tx.status).toBe('completed');
    expect(tx.citizen?.idNumber).toBe(holder.idNumber);
    expect(tx.verdict).toMatchObject({ decision: 'accept', faceMatch: 'accepted', faceThreshold: 0.4, faceLiveness: 'not-performed', faceFrames: 5 });
    expect(tx.verdict.faceScore as number).toBeGreaterThanOrEqual(0.4);
    expect(tx.verdict.faceFeatureModel).toEqual(expect.any(String));
    expect(tx.verdict.faceMatchMs).toEqual(expect.any(Number));
    // Only short scalars: no pixels, no embedding, no data URL (the longest is the DS issuer's name).
    for (const value of Object.values(tx.verdict)) expect(typeof value === 'string' ? value.length : 0).toBeLessThanOrEqual(200);
  });

  it('another person at the camera: face does not match, the check is rejected with no holder shown or stored', async () => {
    const { check, recorded } = await checkWithCamera(await simDevicesEnv(dir, impostor));
    const before = store.stats();
    const response = await check.check(CAN);
    expect(response).toMatchObject({ outcome: 'checked', verdict: { decision: 'accept' }, face: 'rejected', holder: null });
    const tx = recorded();
    expect(tx.status).toBe('rejected');
    expect(tx.citizen).toBeUndefined();
    expect(tx.verdict).toMatchObject({ faceMatch: 'rejected', faceLiveness: 'not-performed' });
    expect(tx.verdict.faceScore as number).toBeLessThan(tx.verdict.faceThreshold as number);
    expect(store.stats().withPersonalData).toBe(before.withPersonalData);
  });

  it('simulated devices: a missing devices.cameraFrames folder stops the start-up (CAMERA_START_FAILED naming kiosk-sim setup); an empty setting means no camera', async () => {
    const missing = loadConfig({ env: { KIOSK_DEVICES_CAMERA_FRAMES: join(dir, 'no-frames') } });
    await expect(FaceStep.start(missing, log)).rejects.toMatchObject({ code: 'CAMERA_START_FAILED', message: expect.stringContaining('kiosk-sim setup') as unknown });
    const none = await FaceStep.start(loadConfig({ env: { KIOSK_DEVICES_CAMERA_FRAMES: '' } }), log);
    steps.push(none);
    expect(await none.run({ missing: 'FACE_NOT_FOUND' })).toMatchObject({ decision: 'not-performed' });
  });

  it('a camera showing no face: the answer is retry, recorded as rejected with no score and no citizen', async () => {
    const grey: RawImage = { width: 640, height: 480, channels: 1, data: new Uint8Array(640 * 480).fill(128) };
    const { check, recorded } = await checkWithCamera({}, new SimulatedCamera({ source: [grey], fps: 30 }));
    expect(await check.check(CAN)).toMatchObject({ outcome: 'checked', verdict: { decision: 'accept' }, face: 'retry', holder: null });
    expect(recorded()).toMatchObject({ status: 'rejected', citizen: undefined, verdict: { faceMatch: 'retry', faceScore: null, faceUsableFrames: 0 } });
  });
});

describe('face step start-up: the face models are checked against their manifest', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-face-manifest-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const configWith = (manifest: string, mode: KioskConfig['devices']['mode']): KioskConfig => loadConfig({ env: { KIOSK_FACE_MANIFEST: manifest, KIOSK_DEVICES_MODE: mode } });

  for (const mode of ['simulated', 'real'] as const) {
    it(`${mode} devices: a tampered model (manifest hash differs) stops start-up with FACE_MODEL_TAMPERED, a missing manifest with FACE_MODEL_MISSING`, async () => {
      const manifest = JSON.parse(readFileSync(DEFAULT_FACE_MANIFEST, 'utf8')) as { models: Record<string, { file: string; sha256: string }> };
      const feature = manifest.models.feature!;
      feature.sha256 = feature.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      const path = join(dir, `tampered-${mode}.json`);
      writeFileSync(path, JSON.stringify(manifest));
      await expect(FaceStep.start(configWith(path, mode), log)).rejects.toSatisfy((e: unknown) => isKioskError(e, 'FACE_MODEL_TAMPERED'));
      await expect(FaceStep.start(configWith(join(dir, 'absent.json'), mode), log)).rejects.toSatisfy((e: unknown) => isKioskError(e, 'FACE_MODEL_MISSING'));
    });
  }
});
