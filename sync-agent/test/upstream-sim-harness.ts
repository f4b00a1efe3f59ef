import { request } from 'node:https';
import type { SyncPki, TlsIdentity } from '@kiosk/fixtures';
import type { ContractRequest, ContractResponse } from '../src/contracts/index.js';
import type { SimulatorTls } from '../src/simulators/index.js';

/** The simulators' TLS from the sync PKI: the server certificate, the device CA and its CRL. */
export const simulatorTls = (pki: SyncPki): SimulatorTls => ({ cert: pki.servers.server.certificate, key: pki.servers.server.privateKey, clientCa: pki.deviceCa.certificate, crl: pki.deviceCrl });

/** What a client saw: an answer, or the connection failing (its error code) before a complete answer. */
export type Seen = ({ kind: 'answer' } & ContractResponse & { text: string }) | { kind: 'failed'; code: string; status?: number };

/**
 * Sends one contract request with node:https over its own connection (agent: false), presenting `client` (the
 * device certificate unless told; `null` for none), trusting only the server CA.
 */
export function send(url: string, pki: SyncPki, req: ContractRequest, client: TlsIdentity | null = pki.clients.device): Promise<Seen> {
  const { hostname, port } = new URL(url);
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  return new Promise((resolveSeen) => {
    let status: number | undefined;
    const r = request(
      {
        host: hostname,
        port: Number(port),
        method: req.method,
        path: req.path,
        headers: { ...req.headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
        agent: false,
        ca: [pki.serverCa.certificate],
        ...(client ? { cert: client.certificate, key: client.privateKey } : {}),
        minVersion: 'TLSv1.2',
      },
      (res) => {
        status = res.statusCode;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('aborted', () => resolveSeen({ kind: 'failed', code: 'ABORTED', ...(status === undefined ? {} : { status }) }));
        res.on('error', (err: NodeJS.ErrnoException) => resolveSeen({ kind: 'failed', code: err.code ?? 'ERROR', ...(status === undefined ? {} : { status }) }));
        res.on('end', () => {
          if (!res.complete) return;
          const headers = Object.fromEntries(Object.entries(res.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
          resolveSeen({ kind: 'answer', status: res.statusCode ?? 0, headers, text, body: text === '' ? undefined : (JSON.parse(text) as unknown) });
        });
      },
    );
    r.on('error', (err: NodeJS.ErrnoException) => resolveSeen({ kind: 'failed', code: err.code ?? 'ERROR', ...(status === undefined ? {} : { status }) }));
    r.end(body);
  });
}

/** The answer, or a test failure saying what happened instead. */
export async function answer(url: string, pki: SyncPki, req: ContractRequest, client?: TlsIdentity | null): Promise<ContractResponse> {
  const seen = await send(url, pki, req, client);
  if (seen.kind !== 'answer') throw new Error(`no answer: ${seen.code}`);
  return seen;
}
