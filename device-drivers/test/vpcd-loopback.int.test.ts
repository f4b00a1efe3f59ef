import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { VPCD_DRIVER, tcpListeners, vpcdExposed, vpcdReaderConfig } from '../src/smartcard/pcscd/vpcd-loopback.js';
import { pcscSkipReason } from '../src/testing/index.js';

const run = promisify(execFile);

/**
 * Runs pcscd with a reader configuration in a namespace of its own (network, mount, pid: a private loopback, a
 * private /run/pcscd, and everything started there dies with it), gives that namespace a non-loopback address
 * (192.0.2.1, TEST-NET-1, on a veth pair; on lo when veth is unavailable) and tries a TCP connect to vpcd's port on
 * that address and on 127.0.0.1. Prints the listening sockets of vpcd's ports and one line per connect.
 */
const PROBE = String.raw`
set -u
mkdir -p /run/pcscd && mount -t tmpfs tmpfs /run/pcscd
ip link set lo up
dev=lo
if ip link add kvpcd0 type veth peer name kvpcd1 2>/dev/null; then dev=kvpcd0; ip link set kvpcd1 up; fi
ip addr add 192.0.2.1/24 dev "$dev" && ip link set "$dev" up
if [ -n "$1" ]; then pcscd --foreground --error --config "$1" & else pcscd --foreground --error & fi
pid=$!
listening() { awk 'NR > 1 && $2 ~ /:8C7[BC]$/ && $4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6; }
for _ in $(seq 100); do [ "$(listening | wc -l)" -ge 2 ] && break; sleep 0.1; done
for l in $(listening); do echo "listening $l"; done
for addr in 192.0.2.1 127.0.0.1; do
  if timeout 5 bash -c "exec 3<>/dev/tcp/$addr/35963" 2>/dev/null; then echo "connect $addr ok"; else echo "connect $addr refused"; fi
done
kill "$pid"; wait "$pid" 2>/dev/null
exit 0
`;

interface Probe {
  listening: string[];
  connects: Record<string, string>;
}

async function probe(configDir: string | undefined): Promise<Probe> {
  const { stdout } = await run('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', 'bash', '-c', PROBE, 'probe', configDir ?? ''], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  return {
    listening: lines.filter((l) => l.startsWith('listening ')).map((l) => l.slice('listening '.length)).sort(),
    connects: Object.fromEntries(lines.filter((l) => l.startsWith('connect ')).map((l) => l.split(' ').slice(1) as [string, string])),
  };
}

/** Why this test cannot run: it needs root for namespaces. Under CI (root, Debian 12) it must run. */
function namespaceSkipReason(): string | undefined {
  const pcsc = pcscSkipReason();
  if (pcsc) return pcsc;
  if (process.getuid?.() === 0) return undefined;
  if (process.env.CI) throw new Error('the vpcd loopback test needs root (network namespaces) and CI runs as root');
  process.stderr.write('\n*** SKIPPING the vpcd loopback test: not root (it makes network namespaces) ***\n\n');
  return 'not root';
}

// 127.0.0.1:35963 = 0100007F:8C7B, :35964 = :8C7C in /proc/net/tcp.
const LOOPBACK_ONLY = ['0100007F:8C7B', '0100007F:8C7C'];
const EVERY_ADDRESS = ['00000000:8C7B', '00000000:8C7C'];

describe.skipIf(namespaceSkipReason())('vsmartcard-vpcd is reachable on 127.0.0.1 only', () => {
  const dirs: string[] = [];
  const configDir = (text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'vpcd-conf-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'vpcd'), text);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('scripts/setup-system.sh left /etc/reader.conf.d/vpcd naming the loopback wrapper', () => {
    expect(readFileSync('/etc/reader.conf.d/vpcd', 'utf8')).toBe(vpcdReaderConfig());
  });

  it('the pcscd of this test run (ensurePcscd in the global set-up) has vpcd on 127.0.0.1 only', () => {
    expect([tcpListeners(35963), tcpListeners(35964)]).toEqual([['127.0.0.1'], ['127.0.0.1']]);
    expect(vpcdExposed([35963, 35964])).toEqual([]);
  });

  it('a pcscd with the system configuration: a connect on a non-loopback address is refused, on 127.0.0.1 accepted', async () => {
    const result = await probe(undefined);
    expect(result).toEqual({ listening: LOOPBACK_ONLY, connects: { '192.0.2.1': 'refused', '127.0.0.1': 'ok' } });
  });

  it('the pcscd ensurePcscd starts (its own reader configuration) is loopback-only too', async () => {
    const result = await probe(configDir(vpcdReaderConfig()));
    expect(result).toEqual({ listening: LOOPBACK_ONLY, connects: { '192.0.2.1': 'refused', '127.0.0.1': 'ok' } });
  });

  it('control: vpcd without the wrapper (the Debian package configuration) accepts on the non-loopback address', async () => {
    const stock = `FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x8C7B\nLIBPATH      ${VPCD_DRIVER}\nCHANNELID    0x8C7B\n`;
    const result = await probe(configDir(stock));
    expect(result).toEqual({ listening: EVERY_ADDRESS, connects: { '192.0.2.1': 'ok', '127.0.0.1': 'ok' } });
  });
});
