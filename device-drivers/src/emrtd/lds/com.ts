import { decodeTlvList, encodeTlv } from '../../encoding/tlv.js';
import { EF_COM, dataGroupByTag, dataGroupFile, ldsMalformed, unwrapLdsFile, wrapLdsFile } from './files.js';

/**
 * EF.COM (ICAO 9303-10 §4.6.1): 60 { 5F01 LDS version "aabb", 5F36 Unicode version "aabbcc", 5C tag list }.
 * Versions stay as the digit strings the file holds ("0107" = LDS 1.7, "040000" = Unicode 4.0.0).
 */
export interface EfCom {
  ldsVersion: string;
  unicodeVersion: string;
  /** Data groups present, by number, in the order the tag list names them. */
  dataGroups: number[];
}

const TAG_LDS_VERSION = 0x5f01;
const TAG_UNICODE_VERSION = 0x5f36;
const TAG_TAG_LIST = 0x5c;
const ASCII = new TextDecoder('latin1');

function digits(value: Uint8Array, count: number, what: string): string {
  const text = ASCII.decode(value);
  if (!new RegExp(`^[0-9]{${count}}$`).test(text)) throw ldsMalformed(EF_COM.name, `${what} is not ${count} digits`);
  return text;
}

export function parseCom(bytes: Uint8Array): EfCom {
  const children = decodeTlvList(unwrapLdsFile(bytes, EF_COM));
  const one = (tag: number, what: string): Uint8Array => {
    const found = children.filter((t) => t.tag === tag);
    if (found.length !== 1) throw ldsMalformed(EF_COM.name, `${found.length} ${what} objects, expected 1`);
    return found[0]!.value;
  };
  if (children.length !== 3) throw ldsMalformed(EF_COM.name, `${children.length} data objects, expected 5F01, 5F36 and 5C`);
  const tagList = one(TAG_TAG_LIST, 'tag list');
  const dataGroups = Array.from(tagList, (tag) => {
    const file = dataGroupByTag(tag);
    if (!file) throw ldsMalformed(EF_COM.name, `tag list names ${tag.toString(16).toUpperCase()}, which is no data group`);
    return file.dataGroup!;
  });
  if (new Set(dataGroups).size !== dataGroups.length) throw ldsMalformed(EF_COM.name, 'tag list names a data group twice');
  return {
    ldsVersion: digits(one(TAG_LDS_VERSION, 'LDS version'), 4, 'LDS version'),
    unicodeVersion: digits(one(TAG_UNICODE_VERSION, 'Unicode version'), 6, 'Unicode version'),
    dataGroups,
  };
}

export function encodeCom(com: EfCom): Uint8Array {
  if (!/^[0-9]{4}$/.test(com.ldsVersion) || !/^[0-9]{6}$/.test(com.unicodeVersion)) throw new RangeError('EF.COM versions are 4 and 6 digits');
  if (new Set(com.dataGroups).size !== com.dataGroups.length) throw new RangeError('EF.COM names each data group once');
  const tags = com.dataGroups.map((n) => dataGroupFile(n).tag!);
  const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
  return wrapLdsFile(
    EF_COM,
    encodeTlv(TAG_LDS_VERSION, ascii(com.ldsVersion)),
    encodeTlv(TAG_UNICODE_VERSION, ascii(com.unicodeVersion)),
    encodeTlv(TAG_TAG_LIST, Uint8Array.from(tags)),
  );
}
