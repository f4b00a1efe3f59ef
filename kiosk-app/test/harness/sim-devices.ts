import { join } from 'node:path';
import { PERSONAS, writeCameraFrames, writeTestTrustFolder, type Persona } from '@kiosk/fixtures';

// What `kiosk-sim setup` writes for simulated devices (npm start runs it first), written into a test's own folder;
// each returns the KIOSK_* settings that point the kiosk at it.

/** The test trust store (devices.simTrustFolder). */
export async function simTrustEnv(dir: string): Promise<Record<string, string>> {
  const trust = join(dir, 'sim-trust');
  await writeTestTrustFolder(trust);
  return { KIOSK_DEVICES_SIM_TRUST_FOLDER: trust };
}

/** The test trust store and the persona's live photos as the simulated camera's frames (devices.cameraFrames). */
export async function simDevicesEnv(dir: string, persona: Persona = PERSONAS[0]!): Promise<Record<string, string>> {
  const frames = join(dir, `camera-${persona.id}`);
  await writeCameraFrames(frames, persona);
  return { ...(await simTrustEnv(dir)), KIOSK_DEVICES_CAMERA_FRAMES: frames };
}
