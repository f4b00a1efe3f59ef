// Byte, BER-TLV and DER kernels shared by every layer (smart card, eMRTD, verify, printer): @kiosk/device-drivers/encoding
export { concatBytes, fromHex, toHex, bytesEqual, startsWith } from './bytes.js';
export { decodeTlv, decodeTlvList, decodeHeader, encodeTlv, encodeLength, encodeTag, findTlv, isConstructed, type Tlv } from './tlv.js';
export { ASN1_TAG, decodeOid, encodeOid, decodeTime, derMalformed, type DerFailure } from './der.js';
