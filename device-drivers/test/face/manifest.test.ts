import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKioskError, type ErrorCode } from '@kiosk/common';
import { FaceEngine } from '../../src/face/engine.js';
import { DEFAULT_FACE_MANIFEST, MODEL_ROLES, readFaceManifest } from '../../src/face/manifest.js';

interface Manifest {
  models: Record<string, { file: string; sha256: string; outputs: Record<string, number[]> }>;
}

let dir: string;
let original: Manifest;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'face-manifest-'));
  original = JSON.parse(await readFile(DEFAULT_FACE_MANIFEST, 'utf8')) as Manifest;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the shipped manifest, changed by `edit`, written into the temp dir. */
async function manifestWith(name: string, edit: (m: Manifest) => void): Promise<string> {
  const copy = structuredClone(original);
  edit(copy);
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(copy));
  return path;
}

const rejectsWith = (code: ErrorCode, pattern: RegExp) => (e: unknown) => isKioskError(e, code) && pattern.test((e as Error).message);

describe('face model manifest', () => {
  it('the shipped manifest resolves every model in node_modules and every hash matches', async () => {
    const models = await readFaceManifest();
    expect(Object.keys(models).sort()).toEqual([...MODEL_ROLES].sort());
    for (const model of Object.values(models)) {
      expect(model.path).toMatch(/node_modules\/faceplugin-face-recognition-js\/model\/fr_\w+\.onnx$/);
      expect(model.licence).not.toBe('');
      expect(model.provenance).not.toBe('');
    }
  });

  it('a model copied elsewhere with one byte flipped is refused as FACE_MODEL_TAMPERED at start-up (engine from settings)', async () => {
    const models = await readFaceManifest();
    const copy = join(dir, 'fr_feature.onnx');
    await copyFile(models.feature.path, copy);
    const bytes = await readFile(copy);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    await writeFile(copy, bytes);
    const manifest = await manifestWith('tampered.json', (m) => {
      m.models.feature!.file = 'fr_feature.onnx';
    });
    await expect(FaceEngine.create({ manifest })).rejects.toSatisfy(rejectsWith('FACE_MODEL_TAMPERED', /"feature".*SHA-256 [0-9a-f]{64}, the manifest expects 87aacdfe/));
  });

  it('the same copy unflipped loads: a model swap is a manifest edit', async () => {
    const models = await readFaceManifest();
    await copyFile(models.eye.path, join(dir, 'fr_eye.onnx'));
    const manifest = await manifestWith('moved.json', (m) => {
      m.models.eye!.file = 'fr_eye.onnx';
    });
    const moved = await readFaceManifest(manifest);
    expect(moved.eye.path).toBe(join(dir, 'fr_eye.onnx'));
  });

  it('a missing model file or manifest is FACE_MODEL_MISSING', async () => {
    const manifest = await manifestWith('missing.json', (m) => {
      m.models.pose!.file = 'no-such-model.onnx';
    });
    await expect(readFaceManifest(manifest)).rejects.toSatisfy(rejectsWith('FACE_MODEL_MISSING', /"pose".*no-such-model\.onnx/));
    await expect(readFaceManifest(join(dir, 'absent.json'))).rejects.toSatisfy(rejectsWith('FACE_MODEL_MISSING', /absent\.json/));
    const unknownPackage = await manifestWith('no-package.json', (m) => {
      m.models.pose!.file = 'npm:no-such-package-xyz/model.onnx';
    });
    await expect(readFaceManifest(unknownPackage)).rejects.toSatisfy(rejectsWith('FACE_MODEL_MISSING', /no-such-package-xyz/));
  });

  it('a malformed manifest, or a model whose outputs differ from its declaration, is FACE_MODEL_INVALID', async () => {
    const notJson = join(dir, 'not.json');
    await writeFile(notJson, '{ models: ');
    await expect(readFaceManifest(notJson)).rejects.toSatisfy(rejectsWith('FACE_MODEL_INVALID', /not JSON/));
    const badHash = await manifestWith('bad-hash.json', (m) => {
      m.models.detect!.sha256 = 'abc';
    });
    await expect(readFaceManifest(badHash)).rejects.toSatisfy(rejectsWith('FACE_MODEL_INVALID', /models\.detect\.sha256/));
    const wrongSpec = await manifestWith('wrong-spec.json', (m) => {
      m.models.feature!.outputs = { output: [1, 128] };
    });
    await expect(FaceEngine.create({ manifest: wrongSpec })).rejects.toSatisfy(rejectsWith('FACE_MODEL_INVALID', /output output has shape 1x512, the manifest declares 1x128/));
  });
});
