import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { KioskError } from '@kiosk/common';
import sharp from 'sharp';
import { concatBytes } from '../../encoding/bytes.js';
import { ASN1_TAG } from '../../encoding/der.js';
import { decodeTlv, decodeTlvList, encodeTlv, type Tlv } from '../../encoding/tlv.js';
import { dataGroupFile, decodeSmallUnsigned, encodeSmallUnsigned, ldsMalformed, unwrapLdsFile, wrapLdsFile } from './files.js';

/**
 * DG2, the encoded face (ICAO 9303-10 §4.7.2): 75 { 7F61 { 02 count, 7F60 { A1 biometric header template,
 * 5F2E biometric data block } ... } }, each data block an ISO/IEC 19794-5:2005 facial record ('FAC\0', '010\0')
 * holding one or more images as JPEG or JPEG 2000. decodeFaceImage turns an image into something a browser shows.
 */
export type FaceImageFormat = 'jpeg' | 'jpeg2000';

export interface FaceImage {
  format: FaceImageFormat;
  /** As the facial record header states them. */
  width: number;
  height: number;
  /** The encoded image as stored. */
  image: Uint8Array;
}

export interface DecodedFaceImage {
  mime: 'image/jpeg' | 'image/png';
  bytes: Uint8Array;
  width: number;
  height: number;
}

const DG2 = dataGroupFile(2);
const FILE = DG2.name;
const TAG_GROUP = 0x7f61;
const TAG_TEMPLATE = 0x7f60;
const TAG_HEADER = 0xa1;
const TAG_DATA_BLOCK = 0x5f2e;
const TAG_DATA_BLOCK_ENCIPHERED = 0x7f2e;

/** ISO/IEC 19794-5:2005 sizes: general header, facial information, feature point, image information. */
const RECORD_HEADER = 14;
const FACIAL_INFORMATION = 20;
const FEATURE_POINT = 8;
const IMAGE_INFORMATION = 12;
const FORMAT_IDENTIFIER = Uint8Array.of(0x46, 0x41, 0x43, 0x00);
const VERSION_2005 = Uint8Array.of(0x30, 0x31, 0x30, 0x00);
const IMAGE_DATA_TYPES: readonly FaceImageFormat[] = ['jpeg', 'jpeg2000'];
/** Face image type 1 = full frontal (19794-5 §5.7.1), what ICAO portraits are. */
const FULL_FRONTAL = 1;

/**
 * Biometric header template of a face (ICAO 9303-10 §4.7.2.1): 80 header version 0101, 81 type 02 = face,
 * 82 subtype none, 87 format owner 0101 (ISO/IEC JTC 1 SC 37), 88 format type 0008 (19794-5 face image).
 */
const FACE_HEADER_TEMPLATE = encodeTlv(
  TAG_HEADER,
  encodeTlv(0x80, Uint8Array.of(0x01, 0x01)),
  encodeTlv(0x81, Uint8Array.of(0x02)),
  encodeTlv(0x82, Uint8Array.of(0x00)),
  encodeTlv(0x87, Uint8Array.of(0x01, 0x01)),
  encodeTlv(0x88, Uint8Array.of(0x00, 0x08)),
);

function malformed(message: string): never {
  throw ldsMalformed(FILE, message);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, at = 0): boolean {
  return bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
}

/** The images of one 19794-5 facial record. */
function parseFacialRecord(record: Uint8Array): FaceImage[] {
  if (record.length < RECORD_HEADER) malformed(`facial record of ${record.length} bytes is shorter than its header`);
  if (!startsWith(record, FORMAT_IDENTIFIER)) malformed('biometric data block is not an ISO/IEC 19794-5 facial record (no FAC\\0)');
  if (!startsWith(record, VERSION_2005, 4)) malformed('facial record version is not 010 (ISO/IEC 19794-5:2005)');
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  if (view.getUint32(8) !== record.length) malformed(`facial record says ${view.getUint32(8)} bytes, the data block has ${record.length}`);
  const count = view.getUint16(12);
  if (count === 0) malformed('facial record holds no image');
  const faces: FaceImage[] = [];
  let pos = RECORD_HEADER;
  for (let i = 0; i < count; i++) {
    if (pos + FACIAL_INFORMATION > record.length) malformed(`facial record ends before image ${i + 1}`);
    const length = view.getUint32(pos);
    const infoAt = pos + FACIAL_INFORMATION + view.getUint16(pos + 4) * FEATURE_POINT;
    const imageAt = infoAt + IMAGE_INFORMATION;
    const end = pos + length;
    if (end > record.length || imageAt >= end) malformed(`image ${i + 1} has an inconsistent length`);
    const format = IMAGE_DATA_TYPES[view.getUint8(infoAt + 1)];
    if (!format) malformed(`image ${i + 1} has image data type ${view.getUint8(infoAt + 1)}, neither JPEG (0) nor JPEG 2000 (1)`);
    faces.push({ format, width: view.getUint16(infoAt + 2), height: view.getUint16(infoAt + 4), image: record.slice(imageAt, end) });
    pos = end;
  }
  if (pos !== record.length) malformed(`${record.length - pos} bytes after the last image`);
  return faces;
}

function parseTemplate(template: Tlv): FaceImage[] {
  if (template.tag !== TAG_TEMPLATE) malformed(`expected biometric information template 7F60, found ${template.tag.toString(16).toUpperCase()}`);
  const children = decodeTlvList(template.value);
  const header = children.filter((c) => c.tag === TAG_HEADER);
  const blocks = children.filter((c) => c.tag === TAG_DATA_BLOCK || c.tag === TAG_DATA_BLOCK_ENCIPHERED);
  if (header.length !== 1 || blocks.length !== 1 || children.length !== 2) malformed('a 7F60 template needs one A1 header and one 5F2E data block');
  // The header must at least be well-formed; its content (type face, format 19794-5) is implied by the record.
  decodeTlvList(header[0]!.value);
  return parseFacialRecord(blocks[0]!.value);
}

export function parseDg2(bytes: Uint8Array): FaceImage[] {
  const content = unwrapLdsFile(bytes, DG2);
  const group = decodeTlv(content, 0);
  if (group.tag !== TAG_GROUP || group.end !== content.length) malformed('content is not one 7F61 biometric information group');
  const [countTlv, ...templates] = decodeTlvList(group.value);
  if (countTlv?.tag !== ASN1_TAG.INTEGER) malformed('7F61 does not start with the 02 instance count');
  const count = decodeSmallUnsigned(countTlv, FILE, 'instance count');
  if (count !== templates.length) malformed(`instance count is ${count}, the group holds ${templates.length} templates`);
  if (count === 0) malformed('no face');
  return templates.flatMap(parseTemplate);
}

function facialRecord(face: FaceImage): Uint8Array {
  const typeCode = IMAGE_DATA_TYPES.indexOf(face.format);
  if (typeCode < 0 || face.image.length === 0) throw new RangeError('a face needs a JPEG or JPEG 2000 image');
  for (const side of [face.width, face.height]) if (!Number.isInteger(side) || side < 0 || side > 0xffff) throw new RangeError('face width and height are 16-bit');
  const faceLength = FACIAL_INFORMATION + IMAGE_INFORMATION + face.image.length;
  const header = new Uint8Array(RECORD_HEADER + FACIAL_INFORMATION + IMAGE_INFORMATION);
  const view = new DataView(header.buffer);
  header.set(FORMAT_IDENTIFIER, 0);
  header.set(VERSION_2005, 4);
  view.setUint32(8, RECORD_HEADER + faceLength);
  view.setUint16(12, 1);
  view.setUint32(RECORD_HEADER, faceLength);
  // No feature points; gender, eyes, hair, mask, expression and pose all 0 = unspecified.
  const info = RECORD_HEADER + FACIAL_INFORMATION;
  view.setUint8(info, FULL_FRONTAL);
  view.setUint8(info + 1, typeCode);
  view.setUint16(info + 2, face.width);
  view.setUint16(info + 4, face.height);
  return concatBytes(header, face.image);
}

/** DG2 with one 7F60 template (one single-image facial record) per face. */
export function encodeDg2(faces: readonly FaceImage[]): Uint8Array {
  if (faces.length === 0) throw new RangeError('DG2 needs at least one face');
  const templates = faces.map((face) => encodeTlv(TAG_TEMPLATE, FACE_HEADER_TEMPLATE, encodeTlv(TAG_DATA_BLOCK, facialRecord(face))));
  return wrapLdsFile(DG2, encodeTlv(TAG_GROUP, encodeSmallUnsigned(faces.length), ...templates));
}

// ---- Decoding images ------------------------------------------------------------------------------------------

const JPEG_SOI = Uint8Array.of(0xff, 0xd8, 0xff);
const J2K_SOC_SIZ = Uint8Array.of(0xff, 0x4f, 0xff, 0x51);
const JP2_SIGNATURE = Uint8Array.of(0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a);
/** Far above any ICAO portrait (typically 480 x 640); bounds decoder memory and time on hostile input. */
const MAX_SIDE = 4096;
const MAX_TILES = 4096;

function decodeFailed(message: string, cause?: unknown): KioskError {
  return new KioskError('IMAGE_DECODE_FAILED', `face image: ${message}`, cause === undefined ? {} : { cause });
}

/** The contiguous codestream of a JP2 file (box 'jp2c', ISO/IEC 15444-1 Annex I). */
function jp2Codestream(file: Uint8Array): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let pos = 0;
  while (pos + 8 <= file.length) {
    let length = view.getUint32(pos);
    const type = String.fromCharCode(...file.subarray(pos + 4, pos + 8));
    let header = 8;
    if (length === 1) {
      if (pos + 16 > file.length || view.getUint32(pos + 8) !== 0) throw decodeFailed('JP2 box length is missing or too large');
      length = view.getUint32(pos + 12);
      header = 16;
    } else if (length === 0) {
      length = file.length - pos;
    }
    if (length < header || pos + length > file.length) throw decodeFailed(`JP2 box '${type}' overruns the file`);
    if (type === 'jp2c') return file.subarray(pos + header, pos + length);
    pos += length;
  }
  throw decodeFailed('JP2 file has no codestream box');
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
function codestreamSize(codestream: Uint8Array): CodestreamSize {
  if (!startsWith(codestream, J2K_SOC_SIZ) || codestream.length < 42) throw decodeFailed('JPEG 2000 codestream does not start with SOC and SIZ');
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  const [xSiz, ySiz, xOSiz, yOSiz, xTSiz, yTSiz, xTOSiz, yTOSiz] = [8, 12, 16, 20, 24, 28, 32, 36].map((at) => view.getUint32(at)) as [number, number, number, number, number, number, number, number];
  const components = view.getUint16(40);
  if (xOSiz !== 0 || yOSiz !== 0) throw decodeFailed('JPEG 2000 image offsets are not supported');
  if (xSiz === 0 || ySiz === 0 || xSiz > MAX_SIDE || ySiz > MAX_SIDE) throw decodeFailed(`JPEG 2000 image of ${xSiz} x ${ySiz} is empty or larger than ${MAX_SIDE} pixels a side`);
  if (xTSiz === 0 || yTSiz === 0 || xTOSiz > xSiz || yTOSiz > ySiz) throw decodeFailed('JPEG 2000 tiling is invalid');
  if (Math.ceil((xSiz - xTOSiz) / xTSiz) * Math.ceil((ySiz - yTOSiz) / yTSiz) > MAX_TILES) throw decodeFailed('JPEG 2000 image has too many tiles');
  if (components !== 1 && components !== 3) throw decodeFailed(`JPEG 2000 image has ${components} components, not 1 (grey) or 3 (colour)`);
  if (codestream.length < 42 + 3 * components) throw decodeFailed('JPEG 2000 SIZ marker is truncated');
  for (let c = 0; c < components; c++) {
    if (codestream[42 + 3 * c] !== 7) throw decodeFailed('JPEG 2000 samples are not unsigned 8-bit');
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
function loadCodec(): Promise<OpenJpegModule> {
  codec ??= (async () => {
    const factory = requireFromHere('@cornerstonejs/codec-openjpeg/wasmjs') as OpenJpegFactory;
    const wasmBinary = await readFile(requireFromHere.resolve('@cornerstonejs/codec-openjpeg/wasm'));
    const record = (line: string): void => {
      codecLog.push(line);
    };
    return factory({ wasmBinary, print: record, printErr: record });
  })().catch((cause: unknown) => {
    codec = undefined;
    throw decodeFailed('the JPEG 2000 codec could not be loaded', cause);
  });
  return codec;
}

function decodePixels(module: OpenJpegModule, encoded: Uint8Array, size: CodestreamSize): Uint8Array {
  const decoder = new module.J2KDecoder();
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    codecLog = [];
    decoder.decode();
    const errors = codecLog.filter((line) => line.includes('[ERROR]'));
    if (errors.length > 0) throw decodeFailed(`JPEG 2000 data is corrupt (${errors[0]!.replace('[ERROR]', '').trim()})`);
    const frame = decoder.getFrameInfo();
    const pixels = new Uint8Array(decoder.getDecodedBuffer());
    const expected = size.width * size.height * size.components;
    if (frame.width !== size.width || frame.height !== size.height || frame.componentCount !== size.components || frame.bitsPerSample !== 8 || pixels.length !== expected) {
      throw decodeFailed('JPEG 2000 decoder returned an image other than the codestream describes');
    }
    return pixels;
  } catch (err) {
    if (err instanceof KioskError) throw err;
    // An Emscripten abort (out of memory, trap) leaves the instance unusable: load a fresh one next time.
    codec = undefined;
    throw decodeFailed('JPEG 2000 decoder failed', err);
  } finally {
    decoder.delete();
  }
}

async function decodeJpeg2000(image: Uint8Array, codestream: Uint8Array): Promise<DecodedFaceImage> {
  const size = codestreamSize(codestream);
  const pixels = decodePixels(await loadCodec(), image, size);
  const raw = sharp(pixels, { raw: { width: size.width, height: size.height, channels: size.components as 1 | 3 } });
  // sharp would write a grey image as RGB unless told to keep one channel.
  const png = await (size.components === 1 ? raw.toColourspace('b-w') : raw).png().toBuffer();
  return { mime: 'image/png', bytes: new Uint8Array(png), width: size.width, height: size.height };
}

async function checkJpeg(image: Uint8Array): Promise<DecodedFaceImage> {
  // A full decode, not just the header, so a truncated photo fails here rather than in the browser.
  const { info } = await sharp(image, { failOn: 'truncated', limitInputPixels: MAX_SIDE * MAX_SIDE })
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((cause: unknown) => {
      throw decodeFailed('JPEG data is corrupt', cause);
    });
  return { mime: 'image/jpeg', bytes: image.slice(), width: info.width, height: info.height };
}

/**
 * A face image a browser can show: JPEG passes through (after a full decode to check it), JPEG 2000 (JP2 file or
 * raw J2K codestream) is decoded with OpenJPEG (WASM) and re-encoded as PNG. The format is taken from the bytes,
 * not the record header, which some chips get wrong. IMAGE_DECODE_FAILED when the image cannot be decoded.
 */
export async function decodeFaceImage(image: Uint8Array): Promise<DecodedFaceImage> {
  if (startsWith(image, JPEG_SOI)) return checkJpeg(image);
  if (startsWith(image, J2K_SOC_SIZ)) return decodeJpeg2000(image, image);
  if (startsWith(image, JP2_SIGNATURE)) return decodeJpeg2000(image, jp2Codestream(image));
  throw decodeFailed('neither JPEG nor JPEG 2000');
}
