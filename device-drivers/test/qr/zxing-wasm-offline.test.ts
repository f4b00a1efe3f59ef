import { afterEach, describe, expect, it, vi } from 'vitest';
import { ZxingWasmDecoder } from '../../src/qr/decode/zxing-wasm.js';
import { toGray } from '../../src/qr/decode/gray-image.js';
import { qrImage } from './qr-images.js';

// Its own test file: vitest gives each file a fresh module graph, so the module is instantiated here, under the stub.
describe('zxing-wasm loading', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('instantiates from the .wasm in node_modules and never calls fetch', async () => {
    const fetch = vi.fn(() => {
      throw new Error('network access during zxing-wasm initialisation');
    });
    vi.stubGlobal('fetch', fetch);
    const text = 'Nguyễn Thị Thu Hường';
    const found = await new ZxingWasmDecoder().decode(toGray(qrImage(text)));
    expect(found?.text).toBe(text);
    expect(fetch).not.toHaveBeenCalled();
  });
});
