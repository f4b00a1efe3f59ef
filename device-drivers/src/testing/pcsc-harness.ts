import { KioskError } from '@kiosk/common';
import { ensurePcscd, pcscStackMissing, type PcscdHandle } from '../smartcard/pcscd/pcscd-process.js';
import { PcscService, type ReaderInfo } from '../smartcard/pcsc/pcsc-service.js';
import { VPCD_DEFAULT_PORT, VpcdLink } from '../smartcard/vpcd/vpcd-link.js';
import type { VirtualCard } from '../smartcard/vpcd/virtual-card.js';

/**
 * The real PC/SC path for tests and demos: pcscd (reused or owned), the vsmartcard-vpcd virtual readers, and our
 * PC/SC service on the `pcsclite` binding. Virtual cards are inserted over TCP, exactly as a hardware-free
 * deployment would run them.
 */
export const VPCD_SLOTS = 2;

export function vpcdReaderName(slot: number): string {
  return `Virtual PCD 00 ${String(slot).padStart(2, '0')}`;
}

/**
 * Why PC/SC integration tests must skip here, or undefined when they can run. Under CI (CI=true) a missing stack is
 * an error, never a skip: CI installs it with scripts/setup-system.sh.
 */
export function pcscSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = pcscStackMissing();
  if (!missing) return undefined;
  if (env.CI) throw new KioskError('PCSC_UNAVAILABLE', `PC/SC integration tests cannot run under CI: ${missing}`);
  process.stderr.write(`\n*** SKIPPING PC/SC integration tests: ${missing} ***\n\n`);
  return missing;
}

export interface InsertedCard {
  link: VpcdLink;
  reader: ReaderInfo;
  /** Removes the card and waits until PC/SC reports the reader empty. */
  remove(): Promise<void>;
}

export class PcscHarness {
  private readonly links = new Set<VpcdLink>();

  private constructor(
    readonly pcscd: PcscdHandle,
    readonly service: PcscService,
  ) {}

  static async start(): Promise<PcscHarness> {
    const pcscd = await ensurePcscd({ vpcdPorts: Array.from({ length: VPCD_SLOTS }, (_, i) => VPCD_DEFAULT_PORT + i) });
    try {
      return new PcscHarness(pcscd, PcscService.open());
    } catch (err) {
      await pcscd.stop();
      throw err;
    }
  }

  /** Inserts `card` into virtual reader `slot` and waits until PC/SC sees it. */
  async insert(card: VirtualCard, slot = 0): Promise<InsertedCard> {
    const name = vpcdReaderName(slot);
    const seen = this.service.waitForCard(name);
    const link = await VpcdLink.connect(card, { port: VPCD_DEFAULT_PORT + slot });
    this.links.add(link);
    const reader = await seen;
    return {
      link,
      reader,
      remove: async () => {
        // The card may already be gone (a test that pulls it mid-read); then this only waits for PC/SC to agree.
        await link.remove();
        this.links.delete(link);
        if (!(await this.service.removedWithin(name, 10_000))) {
          throw new KioskError('PCSC_TIMEOUT', `PC/SC still reports a card in ${name} after it was removed`);
        }
      },
    };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.links].map((l) => l.remove()));
    this.service.close();
    await this.pcscd.stop();
  }
}
