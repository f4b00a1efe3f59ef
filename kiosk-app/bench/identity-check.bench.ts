import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSuite } from '@kiosk/common/bench';
import { createLogger, loadConfig } from '@kiosk/common';
import { InProcessTransceiver, type VirtualCard } from '@kiosk/device-drivers';
import { SimulatedCamera } from '@kiosk/device-drivers/camera';
import { decodeImage } from '@kiosk/device-drivers/image';
import { CardSession, readAndVerifyCard } from '@kiosk/device-drivers/card-session';
import { canKey } from '@kiosk/device-drivers/emrtd';
import { buildVirtualCard, liveFrames, PERSONAS } from '@kiosk/fixtures';
import { TransactionStore } from '@kiosk/store';
import { FaceStep } from '../src/service/face-step.js';
import { IdentityCheck, type CardSessions } from '../src/service/identity-check.js';
import { loadKioskTrust, type KioskTrust } from '../src/service/trust-setup.js';
import { simDevicesEnv } from '../test/harness/sim-devices.js';

// The whole identity check of one card in process (PACE-CAN, all files, AA, CA, Passive Authentication, photo to a
// data URL, one durable store transaction) beside its parts, to show where the time goes. The card answers in
// process, so the link time a real reader adds is not in these figures (see the card-read benchmark for it).
// With the face step, the holder's live photos come from a 1000 fps simulated camera, so the figure is the matching
// (real ONNX engine, 5 frames + the chip photo), not a camera's frame interval.
const persona = PERSONAS[0]!;
const can = persona.idNumber.slice(6);
const log = createLogger({ name: 'bench', level: 'silent' });
let dir: string;
let card: VirtualCard;
let trust: KioskTrust;
let store: TransactionStore;
let check: IdentityCheck;
let face: FaceStep;
let checkWithFace: IdentityCheck;

const session = () => Object.assign(new InProcessTransceiver(card), { atr: card.atr });
const cards: CardSessions = { openCardSession: async () => session(), on: () => undefined };

const readAndVerify = async (): Promise<unknown> => readAndVerifyCard(session(), { keys: canKey(can), atr: card.atr, trust: trust.trust, policy: trust.policy });

const suite: BenchSuite = {
  title: 'identity check',
  async setup() {
    dir = mkdtempSync(join(tmpdir(), 'kiosk-bench-'));
    card = (await buildVirtualCard(persona)).card;
    trust = await loadKioskTrust(loadConfig({ env: { KIOSK_TRUST_FOLDER: join(dir, 'trust'), ...(await simDevicesEnv(dir)) } }), log);
    store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
    check = new IdentityCheck({ cards, devicesMode: 'simulated', trust, recorder: store, log });
    const frames = await Promise.all((await liveFrames(persona)).map((jpeg) => decodeImage(jpeg, 'live photo')));
    face = await FaceStep.start(loadConfig({ env: {} }), log, { camera: new SimulatedCamera({ source: frames, fps: 1000 }) });
    checkWithFace = new IdentityCheck({ cards, devicesMode: 'simulated', trust, recorder: store, log, face });
  },
  cases: () => [
    {
      kind: 'time',
      name: 'identity check of one card, in process (ms)',
      ours: async () => check.check(can),
      peers: {
        'identity check + face step (5 frames, real engine)': async () => checkWithFace.check(can),
        'read + AA + CA + PA only (no photo, no store)': readAndVerify,
        'read + parse only': async () => new CardSession(session(), { keys: canKey(can), atr: card.atr }).read(),
      },
    },
  ],
  async teardown() {
    await face.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  },
};

export default suite;
