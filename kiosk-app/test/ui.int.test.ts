import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ProbeCard } from '@kiosk/device-drivers';
import { PcscHarness, pcscSkipReason, vpcdReaderName, type InsertedCard } from '@kiosk/device-drivers/testing';
import { buildVirtualCard, PERSONAS, syncPki, writeSyncPkiFolder, type CardFault } from '@kiosk/fixtures';
import { startSimulators, type UpstreamSimulator } from '@kiosk/sync-agent/simulators';
import { STRINGS } from '../src/ui/i18n.js';
import { startUiHarness, uiSkipReason, type UiHarness } from './harness/ui-harness.js';

const START_PROMPT = 'Đặt thẻ Căn cước lên đầu đọc';
const CAN_PROMPT = 'Nhập 6 số CAN in trên mặt trước thẻ';
const ACCEPTED = 'Thẻ hợp lệ';
const REJECTED = 'Thẻ không hợp lệ — vui lòng liên hệ nhân viên';
const TEST_BANNER = 'MÔI TRƯỜNG THỬ NGHIỆM / TEST';
/** Cards whose Document Signer does not chain to a trusted CSCA of the card's country: all of them rejected. */
const UNTRUSTED_SIGNER_FAULTS = ['forged-csca', 'self-signed-ds', 'foreign-csca', 'country-mismatch'] as const satisfies readonly CardFault[];
/** The CSCA check on screen: 'not-possible' when no trusted CSCA has the DS issuer's name (rejected by policy), 'failed' on a country rule. */
const DS_CHAIN_OUTCOME: Readonly<Record<(typeof UNTRUSTED_SIGNER_FAULTS)[number], 'failed' | 'not-possible'>> = {
  'forged-csca': 'not-possible',
  'self-signed-ds': 'not-possible',
  'foreign-csca': 'failed',
  'country-mismatch': 'failed',
};
const FACE_MATCHES = 'Khuôn mặt khớp';
const IDLE_SECONDS = 10;
const KIOSK_SYNC = fileURLToPath(new URL('../../sync-agent/bin/kiosk-sync.js', import.meta.url));

/** A port nobody listens on now (the agent's endpoint must be known before it starts). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return port;
}

/** GET on a simulator over mTLS with the device certificate: the status the upstream answers. */
function getStatus(url: string, tls: { cert: string; key: string; ca: string }, deviceId: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(url, { ...tls, headers: { 'x-device-id': deviceId } }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

describe.skipIf(uiSkipReason() ?? pcscSkipReason())('kiosk screen in Chromium under Xvfb, cards through pcscd + vpcd', () => {
  let ui: UiHarness;
  let pcsc: PcscHarness;
  let simulators: UpstreamSimulator[] = [];
  let agent: ChildProcess | undefined;
  const pki = syncPki();
  const consoleErrors: string[] = [];
  const persona = PERSONAS[0]!;
  const can = persona.idNumber.slice(6);

  beforeAll(async () => {
    pcsc = await PcscHarness.start();
    // The upstream simulators (real mTLS, their own SQLite) the sync agent delivers to; the agent itself is started
    // by the dossier test, so the screen first shows a dossier waiting for it.
    const agentPort = await freePort();
    // Only reader 0: other tests on this machine share pcscd and may put cards into reader 1. The simulated camera
    // shows the card holder's own live photos (the harness's set-up writes the first persona's; real face engine
    // against the chip photo).
    ui = await startUiHarness({ KIOSK_UI_IDLE_RESET_SECONDS: String(IDLE_SECONDS), KIOSK_DEVICES_CARD_READER: vpcdReaderName(0) }, (dataDir) => ({ sync: { clientCert: join(dataDir, 'sync', 'device.pem'), clientKey: join(dataDir, 'sync', 'device-key.pem'), upstreamCa: join(dataDir, 'sync', 'ca.pem'), agent: { port: agentPort, tokenFile: join(dataDir, 'sync', 'agent.token') } } }));
    await writeSyncPkiFolder(join(ui.dataDir, 'sync'), pki);
    simulators = await startSimulators({ dir: join(ui.dataDir, 'upstream-sim'), tls: { cert: pki.servers.server.certificate, key: pki.servers.server.privateKey, clientCa: pki.deviceCa.certificate } });
    ui.page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
  });
  afterAll(async () => {
    agent?.kill('SIGTERM');
    await Promise.all(simulators.map((sim) => sim.stop()));
    await ui?.stop();
    await pcsc?.stop();
  });

  const prompt = () => ui.page.locator('#prompt').textContent();

  /** The persona's virtual CCCD (with the real chip photo) on reader 0, once the screen asks for the CAN. */
  async function insertCard(fault?: CardFault): Promise<InsertedCard> {
    const { card } = await buildVirtualCard(persona, fault ? { fault } : {});
    const inserted = await pcsc.insert(card, 0);
    await expect.poll(prompt).toBe(CAN_PROMPT);
    return inserted;
  }

  async function typeCan(digits: string): Promise<void> {
    for (const d of digits) await ui.page.locator(`#keypad button[data-key="${d}"]`).click();
    await ui.page.locator('#keypad button[data-key="confirm"]').click();
  }

  it('shows the Vietnamese start screen with the reader ready, and hides the token from the address bar', async () => {
    const { page } = ui;
    await expect.poll(() => page.locator('#device-status').textContent()).toBe('Đầu đọc thẻ sẵn sàng');
    expect(await prompt()).toBe(START_PROMPT);
    expect(await page.locator('html').getAttribute('lang')).toBe('vi');
    expect(await page.locator('html').getAttribute('translate')).toBe('no');
    expect(page.url()).not.toContain('token');
    // Simulated devices: the TEST banner stays on screen (only devices.mode 'real' hides it).
    expect(ui.config.devices.mode).toBe('simulated');
    await expect.poll(() => page.locator('#test-banner').isVisible()).toBe(true);
    expect(await page.locator('#test-banner').textContent()).toBe(TEST_BANNER);
    expect(await page.locator('#test-banner').innerText()).toBe(TEST_BANNER);
    const png = readFileSync(await ui.screenshot('kiosk-start.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280); // IHDR width
  });

  it('asks for the CAN when any card arrives, with a keypad of touch targets of at least 64 x 64 px', async () => {
    const { page } = ui;
    const inserted = await pcsc.insert(new ProbeCard(), 0);
    await expect.poll(prompt).toBe(CAN_PROMPT);
    const buttons = await page.locator('button:visible').all();
    expect(buttons.length).toBe(13); // language + 10 digits + delete + confirm
    for (const button of buttons) {
      const box = await button.boundingBox();
      expect(box?.width).toBeGreaterThanOrEqual(64);
      expect(box?.height).toBeGreaterThanOrEqual(64);
    }
    expect(await page.locator('#keypad button[data-key="confirm"]').isDisabled()).toBe(true);
    await page.locator('#keypad button[data-key="4"]').click();
    await page.locator('#keypad button[data-key="2"]').click();
    await page.locator('#keypad button[data-key="delete"]').click();
    expect(await page.locator('#can-digits').textContent()).toMatch(/^\s*4\s*$/);
    await ui.screenshot('kiosk-can.png');
    await inserted.remove();
    await expect.poll(prompt).toBe(START_PROMPT);
    expect(await page.locator('#can-digits').textContent()).toMatch(/^\s*$/);
  });

  it('a genuine card: CAN on the keypad -> name with diacritics, last 4 digits, chip photo, "accepted" and "face matches", recorded in the store', async () => {
    const { page } = ui;
    const inserted = await insertCard();
    await typeCan(can);
    await expect.poll(() => page.locator('#verdict').textContent(), { timeout: 30_000 }).toBe(ACCEPTED);
    expect(await page.locator('#verdict').getAttribute('data-decision')).toBe('accept');
    expect(await page.locator('#holder-name').textContent()).toBe('Nguyễn Văn An');
    expect(await page.locator('#holder-birth').textContent()).toBe(persona.dateOfBirth);
    expect(await page.locator('#holder-id').textContent()).toBe(`•••• •••• ${persona.idNumber.slice(-4)}`);
    expect(await page.locator('#holder-photo').getAttribute('src')).toMatch(/^data:image\/jpeg;base64,/);
    // The photo really decoded in the browser.
    expect(await page.locator('#holder-photo').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    expect(await page.locator('#checks li[data-outcome="passed"]').count()).toBe(6);
    expect(await page.content()).not.toContain(persona.idNumber);
    const png = await ui.screenshot('kiosk-verdict.png');
    expect(readFileSync(png).length).toBeGreaterThan(10_000);
    expect(ui.store.stats().transactions['identity-verification/completed']).toBe(1);
    // The face step: the holder's live frames against the chip photo.
    expect(await page.locator('#face-result').textContent()).toBe(FACE_MATCHES);
    expect(await page.locator('#face-result').isVisible()).toBe(true);
    expect(await page.locator('#face-result').getAttribute('data-face')).toBe('accepted');
    await ui.screenshot('kiosk-face.png');
    expect(ui.store.findByCitizen(persona.idNumber)[0]?.verdict).toMatchObject({ faceMatch: 'accepted', faceLiveness: 'not-performed' });

    // Taking the card away takes its data off the screen.
    await inserted.remove();
    await expect.poll(prompt).toBe(START_PROMPT);
    expect(await page.locator('#holder-name').textContent()).toBe('');
    expect(await page.locator('#holder-photo').getAttribute('src')).toBeNull();
    expect(await page.locator('#verdict').textContent()).toBe('');
    expect(await page.locator('#face-result').textContent()).toBe('');
  });

  it('a card with a tampered DG13 is rejected: the rejection is shown, never "accepted", and no holder data', async () => {
    const { page } = ui;
    const inserted = await insertCard('tampered-dg13');
    await typeCan(can);
    await expect.poll(() => page.locator('#verdict').getAttribute('data-decision'), { timeout: 30_000 }).toBe('reject');
    expect(await page.locator('#verdict').textContent()).toBe(REJECTED);
    expect(await page.locator('#screen').textContent()).not.toContain(ACCEPTED); // "Thẻ không hợp lệ" does not contain it
    expect(await page.locator('#checks li[data-check="dataGroupHashes"]').getAttribute('data-outcome')).toBe('failed');
    expect(await page.locator('.holder').isHidden()).toBe(true);
    expect(await page.locator('#holder-name').textContent()).toBe('');
    // No face step for a rejected card.
    expect(await page.locator('#face-result').isHidden()).toBe(true);
    await ui.screenshot('kiosk-verdict-rejected.png');
    await page.locator('#lang').click();
    expect(await page.locator('#verdict').textContent()).toBe('Card not valid — please contact staff');
    await page.locator('#lang').click();
    expect(ui.store.stats().transactions['identity-verification/rejected']).toBe(1);
    await inserted.remove();
    await expect.poll(prompt).toBe(START_PROMPT);
  });

  it.each(UNTRUSTED_SIGNER_FAULTS)(
    "a '%s' card (Document Signer not chained to a trusted CSCA) is rejected: the rejection is shown and nothing of the holder",
    async (fault) => {
      const { page } = ui;
      expect(REJECTED).toBe(STRINGS.verdictReject.vi);
      const rejectedBefore = ui.store.stats().transactions['identity-verification/rejected'] ?? 0;
      const inserted = await insertCard(fault);
      // Out again even when an assertion fails, so one card cannot spoil the tests after it.
      onTestFinished(() => inserted.remove().catch(() => undefined));
      await typeCan(can);
      await expect.poll(() => page.locator('#verdict').getAttribute('data-decision'), { timeout: 30_000 }).toBe('reject');
      expect(await page.locator('#verdict').textContent()).toBe(STRINGS.verdictReject.vi);
      expect(await page.locator('#verdict').isVisible()).toBe(true);
      expect(await page.locator('#checks li[data-check="dsChain"]').getAttribute('data-outcome')).toBe(DS_CHAIN_OUTCOME[fault]);
      // No holder data: empty fields, no photo, the holder box hidden, no face step.
      expect(await page.locator('.holder').isHidden()).toBe(true);
      expect(await page.locator('#holder-name').textContent()).toBe('');
      expect(await page.locator('#holder-birth').textContent()).toBe('');
      expect(await page.locator('#holder-id').textContent()).toBe('');
      expect(await page.locator('#holder-photo').getAttribute('src')).toBeNull();
      expect(await page.locator('#face-result').isHidden()).toBe(true);
      // Neither visible text nor the DOM carries the persona's name or ID number.
      const bodyText = await page.locator('body').innerText(); // document.body.innerText
      expect(bodyText).toContain(STRINGS.verdictReject.vi);
      expect(bodyText).toContain(TEST_BANNER);
      expect(bodyText).not.toContain(persona.fullName);
      expect(bodyText).not.toContain(STRINGS.verdictAccept.vi); // "Thẻ không hợp lệ" does not contain it
      expect(bodyText).not.toContain(STRINGS.verdictReview.vi);
      expect(await page.content()).not.toContain(persona.fullName);
      expect(await page.content()).not.toContain(persona.idNumber);
      if (fault === 'forged-csca') await ui.screenshot('kiosk-forged-card.png');
      expect(ui.store.stats().transactions['identity-verification/rejected']).toBe(rejectedBefore + 1);
      await inserted.remove();
      await expect.poll(prompt).toBe(START_PROMPT);
    },
  );

  it('a wrong CAN asks again with the tries left; the right one then reads; the idle reset clears the result', async () => {
    const { page } = ui;
    const inserted = await insertCard();
    await typeCan('000000');
    await expect.poll(() => page.locator('#can-message').textContent(), { timeout: 30_000 }).toBe('Số CAN không đúng — vui lòng kiểm tra và nhập lại (còn 2 lần thử)');
    expect(await prompt()).toBe(CAN_PROMPT);
    await ui.screenshot('kiosk-wrong-can.png');
    await typeCan(can);
    await expect.poll(() => page.locator('#verdict').textContent(), { timeout: 30_000 }).toBe(ACCEPTED);
    expect(await page.locator('#holder-name').textContent()).toBe('Nguyễn Văn An');
    // Nobody touches the screen: the result goes, the card still on the reader gets a fresh CAN entry.
    await expect.poll(prompt, { timeout: (IDLE_SECONDS + 20) * 1000, interval: 500 }).toBe(CAN_PROMPT);
    expect(await page.locator('#holder-name').textContent()).toBe('');
    expect(await page.locator('#holder-photo').getAttribute('src')).toBeNull();
    expect(await page.locator('#checks li').count()).toBe(0);
    expect(await page.locator('#can-message').textContent()).toBe('');
    await inserted.remove();
    await expect.poll(prompt).toBe(START_PROMPT);
  });

  it('three wrong CANs lock the insertion until the card is taken out', async () => {
    const { page } = ui;
    const inserted = await insertCard();
    for (const tries of [2, 1]) {
      await typeCan('999999');
      await expect.poll(() => page.locator('#can-message').textContent(), { timeout: 30_000 }).toContain(`còn ${tries} lần`);
    }
    await typeCan('999999');
    await expect.poll(prompt, { timeout: 30_000 }).toBe('Đã nhập sai số CAN 3 lần');
    expect(await page.locator('#hint').textContent()).toBe('Vui lòng lấy thẻ ra và liên hệ nhân viên để được hỗ trợ.');
    await inserted.remove();
    await expect.poll(prompt).toBe(START_PROMPT);
  });

  it('switches to English on touch and returns to Vietnamese after the idle timeout', async () => {
    const { page } = ui;
    await page.locator('#lang').click();
    expect(await prompt()).toBe('Place your ID card on the reader');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await expect.poll(() => page.locator('html').getAttribute('lang'), { timeout: (IDLE_SECONDS + 20) * 1000, interval: 500 }).toBe('vi');
    expect(await prompt()).toBe(START_PROMPT);
  });

  it('a public-service dossier: submit on the holder screen, "sending", "saved" while the agent is away, then the tracking code the city returned; the receipt outlives the card, not the idle reset', async () => {
    const { page } = ui;
    const inserted = await insertCard();
    onTestFinished(() => inserted.remove().catch(() => undefined));
    await typeCan(can);
    await expect.poll(() => page.locator('#verdict').textContent(), { timeout: 30_000 }).toBe(ACCEPTED);
    const submit = page.locator('#submit-dossier');
    expect(await submit.isVisible()).toBe(true);
    expect(await submit.textContent()).toBe('Nộp hồ sơ: Xác nhận thông tin về cư trú');
    const box = await submit.boundingBox();
    expect(box?.height).toBeGreaterThanOrEqual(48);
    expect(box?.width).toBeGreaterThanOrEqual(48);
    await submit.click();
    await expect.poll(prompt).toBe(STRINGS.dossierSubmitted.vi);
    expect(await page.locator('#receipt-state').textContent()).toBe(STRINGS.dossierSending.vi);
    expect(await page.locator('#tracking').isHidden()).toBe(true);
    // Nothing delivers it yet (the agent is not running): after a while the screen says it is saved, calmly.
    await expect.poll(() => page.locator('#receipt-state').textContent(), { timeout: 15_000 }).toBe(STRINGS.dossierQueued.vi);
    await ui.screenshot('kiosk-dossier-queued.png');

    // The sync agent comes up (its own process, the kiosk's configuration, pointed at the simulators): it delivers
    // the waiting dossier over mTLS and keeps the city system's tracking code, which the screen then shows.
    const city = ui.store.claimDue({ upstream: 'city-tthc', leaseMs: 1 }).find((d) => d.upstream === 'city-tthc');
    expect(city?.payload).toMatchObject({ procedureCode: ui.config.services.publicService.demoProcedureCode, applicant: { fullName: persona.fullName } });
    const upstreams = Object.fromEntries(simulators.map((sim) => [sim.upstream, { url: sim.url }]));
    const citySim = simulators.find((sim) => sim.upstream === 'city-tthc')!;
    const config = JSON.parse(readFileSync(ui.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
    const agentConfig = join(ui.dataDir, 'agent.config.json');
    writeFileSync(agentConfig, JSON.stringify({ ...config, sync: { ...config.sync, upstreams } }));
    agent = spawn(process.execPath, [KIOSK_SYNC, 'run'], { env: { ...process.env, KIOSK_CONFIG: agentConfig }, stdio: 'ignore' });
    await page.dispatchEvent('body', 'pointerdown'); // the citizen is still there
    await expect.poll(() => page.locator('#tracking-code').textContent(), { timeout: 30_000 }).toMatch(/\S/);
    const trackingCode = String(await page.locator('#tracking-code').textContent());
    // The city system holds the dossier under that code (its status lookup answers 200, an unknown code 404).
    const tls = { cert: pki.clients.device.certificate, key: pki.clients.device.privateKey, ca: pki.serverCa.certificate };
    expect(await getStatus(`${citySim.url}/dossiers/${encodeURIComponent(trackingCode)}`, tls, pki.deviceId)).toBe(200);
    expect(await getStatus(`${citySim.url}/dossiers/000.00.01.H26-000000-9999`, tls, pki.deviceId)).toBe(404);
    expect(citySim.records().map((r) => r.idempotencyKey)).toContain(city!.idempotencyKey);
    await expect.poll(() => page.locator('#tracking-code').textContent()).toBe(trackingCode);
    expect(await page.locator('#tracking').isVisible()).toBe(true);
    expect(await page.locator('#tracking-label').textContent()).toBe(STRINGS.dossierTrackingCode.vi);
    expect(await page.locator('#receipt-state').textContent()).toBe('');
    // Large type (the node test has no DOM typings: the browser evaluates the text).
    expect(parseFloat(String(await page.evaluate("getComputedStyle(document.getElementById('tracking-code')).fontSize")))).toBeGreaterThanOrEqual(48);
    expect(await page.content()).not.toContain(persona.idNumber);
    expect(await page.locator('body').innerText()).not.toContain(persona.fullName);
    await ui.screenshot('kiosk-dossier-submitted.png');
    await page.locator('#lang').click();
    expect(await prompt()).toBe('Dossier submitted');
    expect(await page.locator('#tracking-label').textContent()).toBe('Tracking code');
    await page.locator('#lang').click();

    // The receipt holds no personal data: it stays when the card is taken; the idle reset clears it and the visit.
    await inserted.remove();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await prompt()).toBe(STRINGS.dossierSubmitted.vi);
    await expect.poll(prompt, { timeout: (IDLE_SECONDS + 20) * 1000, interval: 500 }).toBe(START_PROMPT);
    expect(await page.locator('#tracking-code').textContent()).toBe('');
    expect(await page.locator('#receipt').isHidden()).toBe(true);
    const transactions = ui.store.stats().transactions;
    expect(transactions['public-service-submission/completed']).toBe(1);
  });

  it('loads under the strict CSP with no console errors', async () => {
    const response = await ui.page.request.get(ui.server.url);
    expect(response.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(consoleErrors).toEqual([]);
  });
});
