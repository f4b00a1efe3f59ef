export { DECODER_NAMES, symbolText, type DecodedQr, type DecoderName, type Point, type QrDecodeOptions, type QrDecoder } from './decoder.js';
export { ZxingWasmDecoder, loadZxingWasm } from './zxing-wasm.js';
export { ZxingJsDecoder } from './zxing-js.js';
export { JsqrDecoder } from './jsqr.js';
export { QrFramePipeline, DEFAULT_STEPS, type PipelineOptions, type PipelineResult, type PipelineStep } from './pipeline.js';
export { toGray, crop, halve, boxBlur3, type GrayImage } from './gray-image.js';
export { createDecoder } from './create-decoder.js';
export { decodeQrInImage } from './decode-image.js';
