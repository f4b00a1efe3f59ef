import type { KioskConfig, Logger } from '@kiosk/common';
import { notifyAgent, TransactionStore } from '@kiosk/store';
import { CardMonitor } from './card-monitor.js';
import { DossierSubmission } from './dossier-submission.js';
import { FaceStep } from './face-step.js';
import { IdentityCheck } from './identity-check.js';
import { startKioskServer, type KioskServer } from './server.js';
import { loadKioskTrust } from './trust-setup.js';
import { Visit } from './visit.js';

/** The kiosk service as started by `kiosk` (and by the UI test harness): everything but the window. */
export interface KioskRuntime {
  server: KioskServer;
  cards: CardMonitor;
  store: TransactionStore;
  /** Stops what was started, in reverse: the server, the card monitor, the store, the face engine. */
  stop: () => Promise<void>;
}

export interface KioskRuntimeOptions {
  /**
   * Tells the sync agent new outbox rows are committed. Default: its local endpoint (sync.agent), which never throws;
   * an agent that is not running misses nothing, its poll and its start-up deliver.
   */
  notifySyncAgent?: () => Promise<void>;
}

export async function startKioskRuntime(config: KioskConfig, log: Logger, options: KioskRuntimeOptions = {}): Promise<KioskRuntime> {
  // Trust first: a kiosk for real cards that cannot verify them must not start at all.
  const trust = await loadKioskTrust(config, log);
  // The face models are checked against their manifest now: a missing or tampered model stops the kiosk (FACE_MODEL_*).
  const face = await FaceStep.start(config, log);
  const stops: Array<() => Promise<void> | void> = [() => face.stop()];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const store = TransactionStore.fromConfig(config.store);
    stops.push(() => store.close());
    const cards = await CardMonitor.start(config.devices.mode, log, config.devices.cardReader);
    stops.push(() => cards.stop());
    const notifySyncAgent =
      options.notifySyncAgent ??
      (async (): Promise<void> => {
        await notifyAgent(config.sync.agent, { log });
      });
    const visit = new Visit({ cards, log, notifySyncAgent });
    const identity = new IdentityCheck({ cards, devicesMode: config.devices.mode, trust, recorder: store, log, face, visit });
    const dossiers = new DossierSubmission({ visit, store, procedureCode: config.services.publicService.demoProcedureCode, log });
    const server = await startKioskServer({ config, log, cards, identity, visit, dossiers });
    stops.push(() => server.close());
    return { server, cards, store, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
