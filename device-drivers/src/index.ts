export { encodeCommand, decodeResponse, isExtended, swHex, SW_SUCCESS, type CommandApdu, type ResponseApdu } from './smartcard/apdu.js';
export type { ApduTransceiver } from './smartcard/transceiver.js';
export { PcscService, PcscCardSession, type ReaderInfo, type PcscServiceEvents } from './smartcard/pcsc/pcsc-service.js';
export { ensurePcscd, pcscStackMissing, pcscdAnswers, tcpPortListening, findPcscdBinary, type PcscdHandle } from './smartcard/pcscd/pcscd-process.js';
export { VpcdLink, VPCD_DEFAULT_PORT, type VpcdLinkOptions } from './smartcard/vpcd/vpcd-link.js';
export { contactlessAtr, type VirtualCard } from './smartcard/vpcd/virtual-card.js';
export { ProbeCard, PROBE_CARD_AID } from './smartcard/vpcd/probe-card.js';
