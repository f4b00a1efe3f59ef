import { readFile } from 'node:fs/promises';
import { KioskError, loadConfig, parseCliArgs, runCommands } from '@kiosk/common';
import { FaceEngine, decodeFacePhoto, faceSettings, type FaceAnalysis, type FaceProfile, type FaceSettings } from '../face/index.js';

const HELP = `kiosk-face: face match of a chip photo against live camera images

Usage:
  kiosk-face match CHIP_IMAGE LIVE_IMAGE... [--profile public-service|hospital|notary] [--manifest FILE] [--json]
      compare the chip photo (JPEG, JPEG 2000 or any image sharp reads) with each live image; the best score
      among the live images that pass the quality checks decides. Prints score, threshold, decision, quality
      flags per image and timings. Only the result is printed: no pixels or embeddings.
  kiosk-face detect IMAGE [--manifest FILE] [--json]
      faces found, quality flags, eye-open probabilities, head pose and sharpness of the largest face, timings
  kiosk-face --help

Options:
  --profile   threshold set to use (default: device.profile of the configuration)
  --manifest  face model manifest (default: face.manifest of the configuration, else the shipped one)
  --json      one JSON object

Thresholds and quality limits come from the configuration's face section ($KIOSK_CONFIG, KIOSK_FACE_*).
Exit codes: 0 accepted (match) or face found (detect), 1 rejected / retry / no face / unreadable image or
model (FACE_MODEL_MISSING, FACE_MODEL_TAMPERED, FACE_IMAGE_UNREADABLE, FACE_NOT_FOUND), 2 usage error.`;

const PROFILES: readonly FaceProfile[] = ['public-service', 'hospital', 'notary'];

async function readPhoto(path: string): Promise<Awaited<ReturnType<typeof decodeFacePhoto>>> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new KioskError('FACE_IMAGE_UNREADABLE', `cannot read ${path}: ${(cause as Error).message}`, { cause, details: { path } });
  }
  return decodeFacePhoto(bytes, path);
}

async function engineFor(manifest: string | undefined): Promise<{ engine: FaceEngine; profile: FaceProfile }> {
  const config = loadConfig();
  const settings: FaceSettings = { ...faceSettings(config.face), ...(manifest ? { manifest } : {}) };
  return { engine: await FaceEngine.create(settings), profile: config.device.profile };
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;
const flags = (f: readonly string[]): string => (f.length ? f.join(', ') : 'ok');

async function matchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(
    { args, options: { profile: { type: 'string' }, manifest: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true },
    HELP,
  );
  if (positionals.length < 2) throw new KioskError('USAGE', `give a chip image and at least one live image\n\n${HELP}`);
  if (values.profile !== undefined && !(PROFILES as readonly string[]).includes(values.profile)) throw new KioskError('USAGE', `unknown profile "${values.profile}"\n\n${HELP}`);
  const [chipPath, ...livePaths] = positionals as [string, ...string[]];
  const { engine, profile: configured } = await engineFor(values.manifest);
  try {
    const chip = await readPhoto(chipPath);
    const live = [];
    for (const path of livePaths) live.push(await readPhoto(path));
    const result = await engine.match(chip, live, (values.profile as FaceProfile | undefined) ?? configured);
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const lines = [
        `decision: ${result.decision} (profile ${result.profile}, threshold ${result.threshold})`,
        `score: ${result.score === null ? '-' : result.score.toFixed(3)} (best of ${result.usableFrames}/${livePaths.length} usable live images)`,
        `chip photo ${chipPath}: ${flags(result.quality.reference)}, ${ms(result.timings.reference.total)}`,
        ...livePaths.map((p, i) => `live ${p}: ${flags(result.quality.live[i] ?? [])}, ${ms(result.timings.live[i]?.total ?? 0)}`),
        `models: ${Object.values(result.models).join(', ')}`,
        `total: ${ms(result.timings.totalMs)}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return result.decision === 'accepted' ? 0 : 1;
  } finally {
    await engine.release();
  }
}

function describe(path: string, a: FaceAnalysis): Record<string, unknown> {
  return {
    file: path,
    faces: a.faces,
    flags: a.flags,
    ...(a.box ? { box: { x: Math.round(a.box.x), y: Math.round(a.box.y), width: Math.round(a.box.width), height: Math.round(a.box.height), score: a.box.score } } : {}),
    ...(a.eyesOpen ? { eyesOpen: a.eyesOpen } : {}),
    ...(a.pose ? { pose: a.pose } : {}),
    ...(a.sharpness === undefined ? {} : { sharpness: a.sharpness }),
    timings: a.timings,
  };
}

async function detectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs({ args, options: { manifest: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true }, HELP);
  if (positionals.length !== 1) throw new KioskError('USAGE', `give exactly one image\n\n${HELP}`);
  const path = positionals[0]!;
  const { engine } = await engineFor(values.manifest);
  try {
    const analysis = await engine.analyse(await readPhoto(path));
    const out = describe(path, analysis);
    if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    else {
      const a = analysis;
      const lines = [
        `${path}: ${a.faces} face(s), ${flags(a.flags)}`,
        ...(a.box ? [`  largest face: ${Math.round(a.box.width)}x${Math.round(a.box.height)} at ${Math.round(a.box.x)},${Math.round(a.box.y)} (score ${a.box.score.toFixed(2)})`] : []),
        ...(a.eyesOpen ? [`  eyes open: ${a.eyesOpen.map((p) => p.toFixed(2)).join(' / ')}`] : []),
        ...(a.pose ? [`  head pose: yaw ${a.pose.yaw.toFixed(0)}, pitch ${a.pose.pitch.toFixed(0)}, roll ${a.pose.roll.toFixed(0)} degrees`] : []),
        ...(a.sharpness === undefined ? [] : [`  sharpness: ${a.sharpness.toFixed(0)}`]),
        `  timings: ${Object.entries(a.timings).map(([k, v]: [string, number]) => `${k} ${ms(v)}`).join(', ')}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return analysis.faces > 0 ? 0 : 1;
  } finally {
    await engine.release();
  }
}

runCommands('kiosk-face', HELP, {
  match: matchCommand,
  detect: detectCommand,
});
