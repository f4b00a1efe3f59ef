import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, procNetAddress, tcpListeners, vpcdReaderConfig } from '../src/smartcard/pcscd/vpcd-loopback.js';

const setupScript = fileURLToPath(new URL('../../scripts/setup-system.sh', import.meta.url));

describe('vpcd loopback helpers', () => {
  it('decodes /proc/net/tcp and tcp6 addresses', () => {
    expect(procNetAddress('0100007F')).toBe('127.0.0.1');
    expect(procNetAddress('00000000')).toBe('0.0.0.0');
    expect(procNetAddress('0102000A')).toBe('10.0.2.1');
    expect(procNetAddress('00000000000000000000000001000000')).toBe('::1');
    expect(procNetAddress('00000000000000000000000000000000')).toBe('::');
    expect(procNetAddress('0000000000000000FFFF00000100007F')).toBe('::ffff:127.0.0.1');
    expect(procNetAddress('B80D0120000000000000000001000000')).toBe('2001:db8::1');
  });

  it('counts only 127/8, ::1 and IPv4-mapped 127/8 as loopback', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.2.1', '::ffff:10.0.2.1', '2001:db8::1'].some(isLoopbackAddress)).toBe(false);
  });

  it('lists the addresses listening on a port, ignoring connected sockets and other ports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proc-net-'));
    const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
    writeFileSync(join(dir, 'tcp'), `${header}   0: 00000000:8C7B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: 0100007F:8C7C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n   2: 0100007F:8C7B 0100007F:D0A2 01 00000000:00000000 00:00000000 00000000     0        0 3 1\n`);
    writeFileSync(join(dir, 'tcp6'), `${header}   0: 00000000000000000000000001000000:8C7B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1\n`);
    const tables = [join(dir, 'tcp'), join(dir, 'tcp6')];
    expect(tcpListeners(35963, tables)).toEqual(['0.0.0.0', '::1']);
    expect(tcpListeners(35964, tables)).toEqual(['127.0.0.1']);
    expect(tcpListeners(35965, tables)).toEqual([]);
  });

  it('scripts/setup-system.sh writes the same reader configuration the kiosk gives its own pcscd', () => {
    const script = readFileSync(setupScript, 'utf8');
    const written = /<<'CONF'\n([\s\S]*?)^CONF$/m.exec(script)?.[1];
    expect(written).toBe(vpcdReaderConfig());
  });
});
