import { encodeTlv, decodeTlvList } from '../../encoding/tlv.js';
import { dataGroupFile, ldsMalformed, unwrapLdsFile, wrapLdsFile } from './files.js';
import { parseMrz, type MrzData } from './mrz.js';

/** DG1 (ICAO 9303-10 §4.7.1): 61 { 5F1F MRZ }, the MRZ lines concatenated in ASCII. */
const DG1 = dataGroupFile(1);
const TAG_MRZ = 0x5f1f;

export function parseDg1(bytes: Uint8Array): MrzData {
  const children = decodeTlvList(unwrapLdsFile(bytes, DG1));
  const mrz = children[0];
  if (children.length !== 1 || mrz?.tag !== TAG_MRZ) throw ldsMalformed(DG1.name, 'expected exactly one 5F1F MRZ data object');
  // latin1 maps every byte to one character, so a non-ASCII byte fails the MRZ character check instead of vanishing.
  return parseMrz(new TextDecoder('latin1').decode(mrz.value));
}

/** DG1 holding `mrzText` (lines concatenated or separated by line breaks); the MRZ is validated first. */
export function encodeDg1(mrzText: string): Uint8Array {
  const { lines } = parseMrz(mrzText);
  return wrapLdsFile(DG1, encodeTlv(TAG_MRZ, new TextEncoder().encode(lines.join(''))));
}
