import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedCamera } from '../../src/camera/index.js';
import type { RawImage } from '../../src/image/index.js';
import { CameraQrScanner, type ScanEvent } from '../../src/qr/index.js';
import { PERSONA_QR } from './persona.js';
import { blankImage, qrImage } from './qr-images.js';

const OTHER = '00020101021238570010A000000727';
const canvas = { width: 640, height: 360 };
const A = qrImage(PERSONA_QR, { canvas, left: 100, top: 40 });
const B = qrImage(OTHER, { canvas, left: 300, top: 60 });
const EMPTY = blankImage(640, 360);
const times = (image: RawImage, n: number): RawImage[] => Array.from({ length: n }, () => image);

const scanners: CameraQrScanner[] = [];
afterEach(async () => {
  await Promise.all(scanners.splice(0).map((s) => s.stop()));
});

/** Plays the frames once through a simulated camera and resolves with the scans when the camera stops. */
async function scan(frames: RawImage[], repeatWindowMs: number): Promise<ScanEvent[]> {
  const scanner = new CameraQrScanner(new SimulatedCamera({ source: frames, fps: 20, loop: false, name: 'test-camera' }), { repeatWindowMs });
  scanners.push(scanner);
  const scans: ScanEvent[] = [];
  scanner.on('scan', (e) => scans.push(e));
  const detached = new Promise<void>((resolve) => scanner.once('detached', () => resolve()));
  await scanner.start();
  await detached;
  return scans;
}

describe('CameraQrScanner', () => {
  it('reports a code in view once and a new code at once', async () => {
    // Each image several times: a frame dropped while the previous is decoded cannot hide a code.
    const scans = await scan([...times(A, 4), ...times(EMPTY, 2), ...times(B, 4), ...times(B, 2)], 10_000);
    expect(scans.map((s) => s.text)).toEqual([PERSONA_QR, OTHER]);
    expect(scans[0]?.source).toEqual({ transport: 'camera', device: 'test-camera' });
  });

  it('reports a code again when another came between, and every sighting with a zero window', async () => {
    const aba = await scan([...times(A, 3), ...times(B, 3), ...times(A, 3)], 10_000);
    expect(aba.map((s) => s.text)).toEqual([PERSONA_QR, OTHER, PERSONA_QR]);
    const noWindow = await scan(times(A, 4), 0);
    // Dropped frames aside, each decoded frame is a scan once repeats are not suppressed.
    expect(noWindow.length).toBeGreaterThanOrEqual(2);
  });

  it('stamps a scan with the capture time of its frame', async () => {
    const before = performance.timeOrigin + performance.now();
    const [first] = await scan(times(A, 2), 10_000);
    expect(first!.receivedAt).toBeGreaterThanOrEqual(before);
    expect(first!.receivedAt).toBeLessThanOrEqual(performance.timeOrigin + performance.now());
  });

  it('reports detached once when the camera ends and is then stopped', async () => {
    const scanner = new CameraQrScanner(new SimulatedCamera({ source: [EMPTY], fps: 50, loop: false }));
    let detached = 0;
    scanner.on('detached', () => detached++);
    const ended = new Promise<void>((resolve) => scanner.once('detached', () => resolve()));
    await scanner.start();
    await ended;
    await scanner.stop();
    expect(detached).toBe(1);
  });

  it('fails to start when the camera does', async () => {
    const scanner = new CameraQrScanner(new SimulatedCamera({ source: '/nonexistent/kiosk-camera' }));
    await expect(scanner.start()).rejects.toMatchObject({ code: 'CAMERA_START_FAILED' });
  });
});
