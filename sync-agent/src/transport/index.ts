import type { KioskConfig, Logger } from '@kiosk/common';
import type { Contracts } from '../contracts/index.js';
import type { ClientTlsSource } from '../tls/index.js';
import { HttpsUpstreamTransport } from './https-transport.js';

export { HttpsUpstreamTransport, CHECK_BATCH_LIMIT, type HttpsUpstreamTransportOptions, type UpstreamEndpoint } from './https-transport.js';
export { BhytClient, type BhytClientOptions, type BhytCardStatus } from './bhyt-client.js';
export { redactUrl, joinUrl } from './exchange.js';

export interface UpstreamTransportsOptions {
  config: KioskConfig;
  tls: ClientTlsSource;
  contracts: Contracts;
  deviceId: string;
  log: Logger;
}

/** The delivering upstreams, in the order the relay serves them. */
const DELIVERING = ['city-tthc', 'population-lgsp', 'hospital-fhir'] as const;

/** One HTTPS transport per delivering upstream, from `sync.upstreams` and `sync.agent.concurrency`. */
export function createUpstreamTransports({ config, tls, contracts, deviceId, log }: UpstreamTransportsOptions): HttpsUpstreamTransport[] {
  return DELIVERING.map(
    (upstream) =>
      new HttpsUpstreamTransport({ upstream, endpoint: config.sync.upstreams[upstream], concurrency: config.sync.agent.concurrency, tls, contracts, deviceId, log: log.child({ upstream }) }),
  );
}
