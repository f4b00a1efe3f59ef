import { ensurePcscd, pcscStackMissing } from '@kiosk/device-drivers';

/**
 * One pcscd for the whole integration run (only one can run on a machine): reused if one is up, else started
 * here and stopped by PID at the end. Tests then find it running through the same harness.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const missing = pcscStackMissing();
  if (missing) {
    if (process.env.CI) throw new Error(`PC/SC integration tests must run in CI, but: ${missing}`);
    return undefined; // the tests themselves say loudly why they skip
  }
  const pcscd = await ensurePcscd({ vpcdPorts: [35963, 35964] });
  return () => pcscd.stop();
}
