export { startKioskServer, type KioskServer, type KioskServerOptions, type KioskEventSource, type IdentityChecker } from './service/server.js';
export { CardMonitor, type CardReaderStatus, type KioskEvent } from './service/card-monitor.js';
export { launchChromiumKiosk, chromiumKioskArgs, displayAvailable, type KioskWindow } from './shell/chromium-kiosk.js';
export { IdentityCheck, type CardSessions, type IdentityCheckOptions } from './service/identity-check.js';
export { Visit, type Applicant, type TransactionRecorder, type VisitOptions } from './service/visit.js';
export { DossierSubmission, type DossierSubmissionOptions } from './service/dossier-submission.js';
export { loadKioskTrust, policyFor, type KioskTrust } from './service/trust-setup.js';
export type { IdentityCheckResponse, IdentityProgressEvent, HolderView, VerdictView } from './shared/identity-api.js';
export type { DeliveriesResponse, DeliveryView, DossierSubmitted } from './shared/dossier-api.js';
