import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { KioskError } from '@kiosk/common';
import { startsWith } from '../encoding/bytes.js';
import type { RawImage } from './raw-image.js';

/**
 * JPEG 2000 (raw J2K codestream or JP2 file) to pixels with OpenJPEG compiled to WASM (@cornerstonejs/codec-openjpeg):
 * chip portraits are often JPEG 2000, which sharp (libvips) does not read. Hostile input is expected, so the SIZ
 * marker is checked before the codec allocates anything.
 */

/** Builds the caller's error (its code, its label) from a message and an optional cause. */
export type ImageFailure = (message: string, cause?: unknown) => KioskError;

export const J2K_SOC_SIZ = Uint8Array.of(0xff, 0x4f, 0xff, 0x51);
export const JP2_SIGNATURE = Uint8Array.of(0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a);
/** Far above any ICAO portrait (typically 480 x 640); bounds decoder memory and time on hostile input. */
export const MAX_SIDE = 4096;
const MAX_TILES = 4096;

/** The contiguous codestream of a JP2 file (box 'jp2c', ISO/IEC 15444-1 Annex I). */
function jp2Codestream(file: Uint8Array, fail: ImageFailure): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let pos = 0;
  while (pos + 8 <= file.length) {
    let length = view.getUint32(pos);
    const type = String.fromCharCode(...file.subarray(pos + 4, pos + 8));
    let header = 8;
    if (length === 1) {
      if (pos + 16 > file.length || view.getUint32(pos + 8) !== 0) throw fail('JP2 box length is missing or too large');
      length = view.getUint32(pos + 12);
      header = 16;
    } else if (length === 0) {
      length = file.length - pos;
    }
    if (length < header || pos + length > file.length) throw fail(`JP2 box '${type}' overruns the file`);
    if (type === 'jp2c') return file.subarray(pos + header, pos + length);
    pos += length;
  }
  throw fail('JP2 file has no codestream box');
}

interface CodestreamSize {
  width: number;
  height: number;
  components: number;
}

/**
 * The image and tile size from the SIZ marker, checked before the codec sees the data: the WASM wrapper reports
 * the reference-grid corner as the size (so offsets would be misread), allocates for any size it is told and
 * returns only 8-bit samples interleaved for 1 or 3 components.
 */
function codestreamSize(codestream: Uint8Array, fail: ImageFailure): CodestreamSize {
  if (!startsWith(codestream, J2K_SOC_SIZ) || codestream.length < 42) throw fail('JPEG 2000 codestream does not start with SOC and SIZ');
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  const [xSiz, ySiz, xOSiz, yOSiz, xTSiz, yTSiz, xTOSiz, yTOSiz] = [8, 12, 16, 20, 24, 28, 32, 36].map((at) => view.getUint32(at)) as [number, number, number, number, number, number, number, number];
  const components = view.getUint16(40);
  if (xOSiz !== 0 || yOSiz !== 0) throw fail('JPEG 2000 image offsets are not supported');
  if (xSiz === 0 || ySiz === 0 || xSiz > MAX_SIDE || ySiz > MAX_SIDE) throw fail(`JPEG 2000 image of ${xSiz} x ${ySiz} is empty or larger than ${MAX_SIDE} pixels a side`);
  if (xTSiz === 0 || yTSiz === 0 || xTOSiz > xSiz || yTOSiz > ySiz) throw fail('JPEG 2000 tiling is invalid');
  if (Math.ceil((xSiz - xTOSiz) / xTSiz) * Math.ceil((ySiz - yTOSiz) / yTSiz) > MAX_TILES) throw fail('JPEG 2000 image has too many tiles');
  if (components !== 1 && components !== 3) throw fail(`JPEG 2000 image has ${components} components, not 1 (grey) or 3 (colour)`);
  if (codestream.length < 42 + 3 * components) throw fail('JPEG 2000 SIZ marker is truncated');
  for (let c = 0; c < components; c++) {
    if (codestream[42 + 3 * c] !== 7) throw fail('JPEG 2000 samples are not unsigned 8-bit');
  }
  return { width: xSiz, height: ySiz, components };
}

/** The parts of @cornerstonejs/codec-openjpeg (an Emscripten build of OpenJPEG) used here. */
interface J2kDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean };
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}
interface OpenJpegModule {
  J2KDecoder: new () => J2kDecoder;
}
type OpenJpegFactory = (module: { wasmBinary: Uint8Array; print: (line: string) => void; printErr: (line: string) => void }) => Promise<OpenJpegModule>;

const requireFromHere = createRequire(import.meta.url);
let codec: Promise<OpenJpegModule> | undefined;
/** What OpenJPEG printed during the current decode: it reports failures there and returns normally. */
let codecLog: string[] = [];

/**
 * Loads the codec once, its .wasm read from node_modules and handed over as bytes, so the Emscripten loader never
 * fetches anything.
 */
function loadCodec(fail: ImageFailure): Promise<OpenJpegModule> {
  codec ??= (async () => {
    const factory = requireFromHere('@cornerstonejs/codec-openjpeg/wasmjs') as OpenJpegFactory;
    const wasmBinary = await readFile(requireFromHere.resolve('@cornerstonejs/codec-openjpeg/wasm'));
    const record = (line: string): void => {
      codecLog.push(line);
    };
    return factory({ wasmBinary, print: record, printErr: record });
  })().catch((cause: unknown) => {
    codec = undefined;
    throw fail('the JPEG 2000 codec could not be loaded', cause);
  });
  return codec;
}

function decodePixels(module: OpenJpegModule, encoded: Uint8Array, size: CodestreamSize, fail: ImageFailure): Uint8Array {
  const decoder = new module.J2KDecoder();
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    codecLog = [];
    decoder.decode();
    const errors = codecLog.filter((line) => line.includes('[ERROR]'));
    if (errors.length > 0) throw fail(`JPEG 2000 data is corrupt (${errors[0]!.replace('[ERROR]', '').trim()})`);
    const frame = decoder.getFrameInfo();
    const pixels = new Uint8Array(decoder.getDecodedBuffer());
    const expected = size.width * size.height * size.components;
    if (frame.width !== size.width || frame.height !== size.height || frame.componentCount !== size.components || frame.bitsPerSample !== 8 || pixels.length !== expected) {
      throw fail('JPEG 2000 decoder returned an image other than the codestream describes');
    }
    return pixels;
  } catch (err) {
    if (err instanceof KioskError) throw err;
    // An Emscripten abort (out of memory, trap) leaves the instance unusable: load a fresh one next time.
    codec = undefined;
    throw fail('JPEG 2000 decoder failed', err);
  } finally {
    decoder.delete();
  }
}

/** Decodes a J2K codestream or a JP2 file (told apart by their signatures) to 1- or 3-channel 8-bit pixels. */
export async function decodeJpeg2000(image: Uint8Array, fail: ImageFailure): Promise<RawImage & { channels: 1 | 3 }> {
  const codestream = startsWith(image, JP2_SIGNATURE) ? jp2Codestream(image, fail) : image;
  const size = codestreamSize(codestream, fail);
  const data = decodePixels(await loadCodec(fail), image, size, fail);
  return { width: size.width, height: size.height, channels: size.components as 1 | 3, data };
}
