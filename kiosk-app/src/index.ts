export { startKioskServer, type KioskServer, type KioskServerOptions, type KioskEventSource } from './service/server.js';
export { CardMonitor, type CardReaderStatus, type KioskEvent } from './service/card-monitor.js';
export { launchChromiumKiosk, chromiumKioskArgs, displayAvailable, type KioskWindow } from './shell/chromium-kiosk.js';
