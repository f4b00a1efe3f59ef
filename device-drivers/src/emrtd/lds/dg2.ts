import { concatBytes, startsWith } from '../../encoding/bytes.js';
import { ASN1_TAG } from '../../encoding/der.js';
import { decodeTlv, decodeTlvList, encodeTlv, type Tlv } from '../../encoding/tlv.js';
import { dataGroupFile, decodeSmallUnsigned, encodeSmallUnsigned, ldsMalformed, unwrapLdsFile, wrapLdsFile } from './files.js';

/**
 * DG2, the encoded face (ICAO 9303-10 §4.7.2): 75 { 7F61 { 02 count, 7F60 { A1 biometric header template,
 * 5F2E biometric data block } ... } }, each data block an ISO/IEC 19794-5:2005 facial record ('FAC\0', '010\0')
 * holding one or more images as JPEG or JPEG 2000; src/image decodes them.
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
