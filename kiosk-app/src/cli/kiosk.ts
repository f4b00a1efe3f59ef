import { createLogger, loadConfig, parseCliArgs, runCli, untilSignal, type KioskConfig } from '@kiosk/common';
import { startKioskRuntime } from '../service/kiosk-runtime.js';
import { displayAvailable, launchChromiumKiosk, type KioskWindow } from '../shell/chromium-kiosk.js';

const HELP = `kiosk: runs the kiosk service on 127.0.0.1 and opens its screen

Usage:
  kiosk [--config FILE] [--port N] [--headless]

Options:
  --config FILE   configuration file (default: $KIOSK_CONFIG, else built-in development defaults)
  --port N        override service.port (0 = any free port)
  --headless      do not open a window; print the URL and keep serving
  --help          show this help

With a display (DISPLAY or WAYLAND_DISPLAY) the screen opens in Chromium kiosk mode; without one the URL is
printed and the service keeps running. Devices are simulated by default (devices.mode): the kiosk then
starts its own pcscd with the virtual readers (insert a card with \`kiosk-sim card insert\`) and, when
trust.folder holds no CSCA, trusts the TEST CSCAs in devices.simTrustFolder that sign the virtual cards; with
"real" it uses the system's pcscd and refuses to start (TRUST_STORE_MISSING) unless trust.folder holds a CSCA.
After an accepted card the face step matches the camera against the chip photo (simulated camera: the frames
in devices.cameraFrames; real devices have no camera driver yet, so there it is not performed); the face models
are checked at start and a missing or tampered one stops the kiosk. The simulated trust store and camera frames
are written by \`kiosk-sim setup\`, which \`npm start\` runs first.
Verdicts are recorded in the transaction store (store.path).
Ctrl-C stops the window, pcscd (if the kiosk started it) and the service.`;

runCli('kiosk', async () => {
  const { values } = parseCliArgs(
    {
      args: process.argv.slice(2),
      options: { config: { type: 'string' }, port: { type: 'string' }, headless: { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true,
    },
    HELP,
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const env = values.port === undefined ? process.env : { ...process.env, KIOSK_SERVICE_PORT: values.port };
  const config: KioskConfig = loadConfig({ file: values.config, env });
  const log = createLogger({ name: 'kiosk', level: config.log.level });
  // Listen for Ctrl-C before starting anything, so a signal during start-up still stops what was started.
  const stopRequested = untilSignal();

  const runtime = await startKioskRuntime(config, log);
  const { server } = runtime;
  let window: KioskWindow | undefined;
  const stopAll = async (): Promise<void> => {
    await window?.stop();
    await runtime.stop();
  };

  try {
    process.stdout.write(`kiosk service: ${server.url} (device ${config.device.id}, ${config.devices.mode} devices)\n`);
    if (!values.headless && displayAvailable()) {
      window = launchChromiumKiosk({ executable: config.ui.browser, url: server.launchUrl });
      process.stdout.write(`kiosk window: Chromium (pid ${window.child.pid})\n`);
      void window.exited.then((code) => {
        if (code !== null && code !== 0) log.warn({ code }, 'kiosk window exited; the service keeps running');
      });
    } else {
      // The token is per boot and only this terminal sees it: needed to open the screen by hand.
      process.stdout.write(`no window (${values.headless ? '--headless' : 'no display'}); open: ${server.launchUrl}\n`);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  process.stdout.write('press Ctrl-C to stop\n');

  await stopRequested;
  process.stdout.write('stopping\n');
  await stopAll();
  return 0;
});
