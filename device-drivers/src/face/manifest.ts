import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KioskError } from '@kiosk/common';
import { z } from 'zod';

/** The manifest shipped with the package (device-drivers/models/face-models.json). */
export const DEFAULT_FACE_MANIFEST = fileURLToPath(new URL('../../models/face-models.json', import.meta.url));

export const MODEL_ROLES = ['detect', 'landmark', 'feature', 'liveness', 'eye', 'pose'] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

const shape = z.array(z.number().int().positive());
const modelEntry = z.object({
  id: z.string().min(1),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  inputs: z.record(z.string(), shape),
  outputs: z.record(z.string(), shape),
  preprocessing: z.string(),
  architecture: z.string(),
  source: z.object({ package: z.string(), version: z.string() }),
  licence: z.string().min(1),
  provenance: z.string().min(1),
});
const manifestSchema = z.object({
  version: z.literal(1),
  models: z.object(Object.fromEntries(MODEL_ROLES.map((role) => [role, modelEntry])) as Record<ModelRole, typeof modelEntry>),
});

export type ModelEntry = z.infer<typeof modelEntry>;

/** A model whose bytes matched the manifest's SHA-256. */
export interface VerifiedModel extends ModelEntry {
  role: ModelRole;
  path: string;
  bytes: Uint8Array;
}

function invalid(message: string, details: Record<string, unknown>, cause?: unknown): KioskError {
  return new KioskError('FACE_MODEL_INVALID', message, { details, ...(cause === undefined ? {} : { cause }) });
}

/** `npm:<package>/<path>` is looked up in node_modules from this package; anything else is relative to the manifest. */
function resolveFile(file: string, manifestPath: string): string {
  if (!file.startsWith('npm:')) return isAbsolute(file) ? file : resolve(dirname(manifestPath), file);
  const spec = file.slice(4);
  const parts = spec.split('/');
  const nameLength = spec.startsWith('@') ? 2 : 1;
  const pkg = parts.slice(0, nameLength).join('/');
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${pkg}/package.json`);
  } catch (cause) {
    throw new KioskError('FACE_MODEL_MISSING', `face model package ${pkg} is not installed (manifest ${manifestPath})`, { cause, details: { file } });
  }
  return resolve(dirname(pkgJson), ...parts.slice(nameLength));
}

/**
 * Reads the manifest and every model it names, checking each file's SHA-256: FACE_MODEL_INVALID for a malformed
 * manifest, FACE_MODEL_MISSING for an absent file, FACE_MODEL_TAMPERED for a hash mismatch. Input/output shapes are
 * checked against the loaded session by the caller (loadFaceModels).
 */
export async function readFaceManifest(manifestPath = DEFAULT_FACE_MANIFEST): Promise<Record<ModelRole, VerifiedModel>> {
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new KioskError('FACE_MODEL_MISSING', `face model manifest ${manifestPath} cannot be read: ${(cause as Error).message}`, { cause, details: { manifest: manifestPath } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw invalid(`face model manifest ${manifestPath} is not JSON`, { manifest: manifestPath }, cause);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`face model manifest ${manifestPath} is invalid at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`, { manifest: manifestPath });
  }
  const out = {} as Record<ModelRole, VerifiedModel>;
  for (const role of MODEL_ROLES) {
    const entry = parsed.data.models[role];
    const path = resolveFile(entry.file, manifestPath);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (cause) {
      throw new KioskError('FACE_MODEL_MISSING', `face model "${role}" (${entry.id}) not found at ${path}`, { cause, details: { role, id: entry.id, path } });
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== entry.sha256) {
      throw new KioskError('FACE_MODEL_TAMPERED', `face model "${role}" (${entry.id}) at ${path} has SHA-256 ${actual}, the manifest expects ${entry.sha256}: refusing to load it`, {
        details: { role, id: entry.id, path, expected: entry.sha256, actual },
      });
    }
    out[role] = { ...entry, role, path, bytes };
  }
  return out;
}
