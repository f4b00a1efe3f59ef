import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PERSONAS } from '@kiosk/fixtures';
import { TransactionStore, type DueDelivery, type NewTransaction } from '@kiosk/store';
import type { AgentEndpoint } from '../src/agent/endpoint.js';
import type { SyncAgent } from '../src/agent/sync-agent.js';
import type { UpstreamAnswer } from '../src/delivery-policy.js';
import type { UpstreamTransport } from '../src/relay/relay.js';

/** A real store in a temporary folder; `close` removes it. */
export function tempStore(prefix: string): { dir: string; store: TransactionStore; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = TransactionStore.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'wrap.key'), signingKeyFile: join(dir, 'sign.pem') });
  return {
    dir,
    store,
    close: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A synthetic persona's transaction (personal data in the payload, as the real ones carry). */
export function submission(index: number, upstreams: readonly string[], aggregate = `dossier-${index}`): NewTransaction {
  const persona = PERSONAS[index % PERSONAS.length]!;
  return {
    kind: 'public-service-submission',
    status: 'completed',
    verdict: { chip: 'genuine' },
    citizen: { idNumber: persona.idNumber, fields: { fullName: persona.fullName } },
    deliveries: upstreams.map((upstream) => ({ upstream, aggregate, payload: { procedure: '1.001234', applicant: { fullName: persona.fullName, idNumber: persona.idNumber }, index } })),
  };
}

/**
 * An upstream that answers from a script and keeps what it received, in order. The real HTTPS transports have their
 * own tests against the simulators; here the agent's scheduling is under test.
 */
export class ScriptedUpstream implements UpstreamTransport {
  readonly received: DueDelivery[] = [];
  /** Called before each batch is answered (tests record rows or stop the agent mid-drain here). */
  onSend: ((batch: readonly DueDelivery[], call: number) => void | Promise<void>) | undefined;
  private calls = 0;
  private waiters: Array<{ until: (d: DueDelivery) => boolean; resolve: () => void }> = [];

  constructor(
    readonly name: string,
    public answer: (d: DueDelivery) => UpstreamAnswer = () => ({ status: 201 }),
  ) {}

  async send(batch: readonly DueDelivery[]): Promise<UpstreamAnswer[]> {
    await this.onSend?.(batch, this.calls++);
    const answers = batch.map((d) => this.answer(d));
    batch.forEach((d, i) => {
      if ((answers[i]!.status ?? 0) < 300) this.received.push(d);
    });
    this.waiters = this.waiters.filter((w) => {
      if (!batch.some((d, i) => (answers[i]!.status ?? 0) < 300 && w.until(d))) return true;
      w.resolve();
      return false;
    });
    return answers;
  }

  /** Resolves when a delivery matching `until` has been acknowledged. */
  acknowledged(until: (d: DueDelivery) => boolean): Promise<void> {
    if (this.received.some(until)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ until, resolve }));
  }
}

/** After a test: the agent's loop stopped (its round finished), then its endpoint closed. */
export async function stopAgent(agent: SyncAgent | undefined, endpoint: AgentEndpoint | undefined): Promise<void> {
  await agent?.stop();
  await endpoint?.close();
}
