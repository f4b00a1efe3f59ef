export { startKioskServer, type KioskServer, type KioskServerOptions, type KioskEventSource, type IdentityChecker } from './service/server.js';
export { CardMonitor, type CardReaderStatus, type KioskEvent } from './service/card-monitor.js';
export { launchChromiumKiosk, chromiumKioskArgs, displayAvailable, type KioskWindow } from './shell/chromium-kiosk.js';
export { IdentityCheck, type CardSessions, type TransactionRecorder, type IdentityCheckOptions } from './service/identity-check.js';
export { loadKioskTrust, policyFor, type KioskTrust } from './service/trust-setup.js';
export type { IdentityCheckResponse, IdentityProgressEvent, HolderView, VerdictView } from './shared/identity-api.js';
