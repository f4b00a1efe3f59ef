import { existsSync, readFileSync } from 'node:fs';

/**
 * vsmartcard-vpcd on loopback only. vpcd binds its card ports to every address (INADDR_ANY, hard-coded; its
 * configuration cannot change that, and its "connect out to the card" mode crashes pcscd with Debian 12's build),
 * so anyone who can reach the machine could put a card into the virtual readers. scripts/setup-system.sh builds
 * `scripts/vpcd-loopback.c`, a reader driver that wraps vpcd and moves its listening sockets to 127.0.0.1, and
 * names it in /etc/reader.conf.d/vpcd; a pcscd we start ourselves gets the same reader configuration. Whoever
 * started pcscd, `vpcdListeners` reads from /proc where the ports really listen, so nothing relies on the set-up
 * having been done.
 */
export const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';
/** Where scripts/setup-system.sh installs the loopback wrapper (keep the two in step). */
export const VPCD_LOOPBACK_DRIVER = '/usr/local/lib/kiosk/libifdvpcd-loopback.so';
/** vpcd's first port (reader "Virtual PCD 00 00"); the second slot is the next port. */
export const VPCD_CHANNEL = 0x8c7b;

/**
 * The reader configuration for vpcd behind the loopback wrapper, as scripts/setup-system.sh writes it to
 * /etc/reader.conf.d/vpcd. DEVICENAME "/dev/null:PORT" is vpcd's listening mode.
 */
export function vpcdReaderConfig(): string {
  const channel = `0x${VPCD_CHANNEL.toString(16).toUpperCase()}`;
  return [
    '# vsmartcard-vpcd, listening on 127.0.0.1 only: LIBPATH is the kiosk wrapper around libifdvpcd.so',
    '# (scripts/vpcd-loopback.c, installed by scripts/setup-system.sh). Rewritten by that script.',
    'FRIENDLYNAME "Virtual PCD"',
    `DEVICENAME   /dev/null:${channel}`,
    `LIBPATH      ${VPCD_LOOPBACK_DRIVER}`,
    `CHANNELID    ${channel}`,
    '',
  ].join('\n');
}

/** Why vpcd cannot be run on loopback here, or undefined when the wrapper is installed. */
export function vpcdLoopbackMissing(): string | undefined {
  if (!existsSync(VPCD_LOOPBACK_DRIVER)) {
    return `the loopback-only vpcd driver ${VPCD_LOOPBACK_DRIVER} is not built (run scripts/setup-system.sh)`;
  }
  return undefined;
}

/** An address from /proc/net/tcp{,6} ("0100007F" or 32 hex digits, each 32-bit word in host = little-endian order). */
export function procNetAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [6, 4, 2, 0].map((i) => Number.parseInt(w.slice(i, i + 2), 16)));
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export function isLoopbackAddress(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address);
}

/** Local addresses with a TCP socket listening on `port` (from /proc: a connect would look like a card to vpcd). */
export function tcpListeners(port: number, tables = ['/proc/net/tcp', '/proc/net/tcp6']): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of tables) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [address, localPort] = (cols[1] ?? '').split(':');
      if (localPort === hexPort && cols[3] === '0A' && address) found.push(procNetAddress(address));
    }
  }
  return found;
}

/** vpcd ports that listen on some address other than loopback, with those addresses ("35963 on 0.0.0.0"). */
export function vpcdExposed(ports: number[]): string[] {
  return ports.flatMap((port) => tcpListeners(port).filter((a) => !isLoopbackAddress(a)).map((a) => `${port} on ${a}`));
}
