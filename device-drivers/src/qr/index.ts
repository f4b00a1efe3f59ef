export { parseCccdQr, parseIdQr, type CccdQr, type CccdQrOptions, type CccdQrProblem, type IdQrResult } from './cccd-qr.js';
export {
  QrScanner,
  ReconnectingScanner,
  Backoff,
  scannerError,
  preciseNow,
  QR_MAX_BYTES,
  type ScanEvent,
  type ScanSource,
  type ScanTransport,
  type QrScannerEvents,
  type ScannerProblem,
  type DecodeResult,
  type ReconnectOptions,
} from './scanner.js';
export { SerialScanner, CodeFramer, SCAN_SUFFIX_BYTES, type SerialScannerOptions, type CodeFramerOptions, type ScanSuffix } from './serial-scanner.js';
export {
  HidScanner,
  KeyboardWedgeDecoder,
  parseHidPosReport,
  keypadDigitUsage,
  US_LAYOUT,
  MODIFIER,
  BOOT_REPORT_LENGTH,
  USAGE_ENTER,
  USAGE_KEYPAD_ENTER,
  HID_POS_REPORT_ID,
  HID_POS_USAGE_PAGE,
  type HidScannerOptions,
  type KeyboardLayout,
  type KeyboardWedgeOptions,
} from './hid-wedge.js';
export { SimulatedSerialScanner, SimulatedHidScanner, textToKeyboardReports, socatMissing, type SimulatedSerialScannerOptions, type TypeOptions } from './simulated-scanners.js';
export { CameraQrScanner, type CameraQrScannerOptions } from './camera-scanner.js';
export { crossCheckQrWithDg13, CROSS_CHECK_FIELDS, type CrossCheckField, type CrossCheckResult, type FieldComparison, type FieldStatus } from './cross-check.js';
export * from './decode/index.js';
