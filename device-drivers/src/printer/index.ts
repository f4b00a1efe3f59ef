export {
  initialize,
  align,
  bold,
  textSize,
  lineFeed,
  feedLines,
  text,
  rasterImage,
  qrCode,
  cut,
  rasterRowBytes,
  RASTER_BAND_ROWS,
  QR_MAX_DATA,
  type Alignment,
  type QrErrorLevel,
  type QrOptions,
  type RasterImage,
} from './escpos-encoder.js';
export { renderTextRaster, packGreyscale, wrapLine, RASTER_FONT_FAMILY, type TextLine } from './text-raster.js';
export { composeQueueTicket, formatTicketTime, PAPER_DOTS, type QueueTicket, type QueueTicketOptions, type BilingualText, type PaperWidth } from './queue-ticket.js';
export {
  DevicePrinter,
  printerError,
  printerFailureOf,
  type ReceiptPrinter,
  type PrinterStatus,
  type PrinterEvents,
  type PrinterFailure,
  type DevicePrinterOptions,
} from './printer.js';
export { layoutEscPos, renderEscPos, renderPages, type RenderOptions, type LaidOutPage, type PageItem, type TextRun } from './escpos-render.js';
export { qrSymbol, QR_QUIET_MODULES } from './qr-symbol.js';
export { PtyPrinterDevice, type PtyPrinterDeviceOptions, type PtyPrinterDeviceEvents } from './pty-printer-device.js';
export { SimulatedPrinter, type SimulatedPrinterOptions, type PrintedPage } from './simulated-printer.js';
