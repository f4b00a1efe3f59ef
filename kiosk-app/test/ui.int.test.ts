import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeCard } from '@kiosk/device-drivers';
import { PcscHarness, pcscSkipReason } from '@kiosk/device-drivers/testing';
import { startUiHarness, uiSkipReason, type UiHarness } from './harness/ui-harness.js';

describe.skipIf(uiSkipReason() ?? pcscSkipReason())('kiosk start page in Chromium under Xvfb', () => {
  let ui: UiHarness;
  let pcsc: PcscHarness;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    pcsc = await PcscHarness.start();
    ui = await startUiHarness({ KIOSK_UI_IDLE_RESET_SECONDS: '10' });
    ui.page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
  });
  afterAll(async () => {
    await ui?.stop();
    await pcsc?.stop();
  });

  it('shows the Vietnamese start screen with the reader ready, and hides the token from the address bar', async () => {
    const { page } = ui;
    await expect.poll(() => page.locator('#device-status').textContent()).toBe('Đầu đọc thẻ sẵn sàng');
    expect(await page.locator('#prompt').textContent()).toBe('Đặt thẻ Căn cước lên đầu đọc');
    expect(await page.locator('html').getAttribute('lang')).toBe('vi');
    expect(await page.locator('html').getAttribute('translate')).toBe('no');
    expect(page.url()).not.toContain('token');
    const png = readFileSync(await ui.screenshot('kiosk-start.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280); // IHDR width
  });

  it('every control is a touch target of at least 48 x 48 px', async () => {
    const buttons = await ui.page.locator('button').all();
    expect(buttons.length).toBeGreaterThan(0);
    for (const button of buttons) {
      const box = await button.boundingBox();
      expect(box?.width).toBeGreaterThanOrEqual(48);
      expect(box?.height).toBeGreaterThanOrEqual(48);
    }
  });

  it('reacts to a card placed on and taken off the reader through pcscd', async () => {
    const { page } = ui;
    const inserted = await pcsc.insert(new ProbeCard(), 0);
    await expect.poll(() => page.locator('#prompt').textContent()).toBe('Đã nhận thẻ');
    await ui.screenshot('kiosk-card-detected.png');
    await inserted.remove();
    await expect.poll(() => page.locator('#prompt').textContent()).toBe('Đặt thẻ Căn cước lên đầu đọc');
  });

  it('switches to English on touch and returns to Vietnamese after the idle timeout', async () => {
    const { page } = ui;
    await page.locator('#lang').click();
    expect(await page.locator('#prompt').textContent()).toBe('Place your ID card on the reader');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await expect.poll(() => page.locator('html').getAttribute('lang'), { timeout: 30_000, interval: 500 }).toBe('vi');
    expect(await page.locator('#prompt').textContent()).toBe('Đặt thẻ Căn cước lên đầu đọc');
  });

  it('loads under the strict CSP with no console errors', async () => {
    const response = await ui.page.request.get(ui.server.url);
    expect(response.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(consoleErrors).toEqual([]);
  });
});
