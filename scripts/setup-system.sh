#!/usr/bin/env bash
# Installs the Debian packages the kiosk runtime and its tests use, then puts vsmartcard-vpcd on 127.0.0.1 only.
# Idempotent: installs, builds and writes only what is missing or different.
# Used by `npm run setup`, by .ci/run and by the README. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

PACKAGES=(
  libpcsclite-dev   # headers for the pcsclite native binding
  pcscd             # the PC/SC daemon
  pcsc-tools        # pcsc_scan / scriptor, for technicians
  vsmartcard-vpcd   # virtual reader driver: our virtual CCCD card connects to it over TCP
  vsmartcard-vpicc  # virtualsmartcard's own ePass emulator: a chip we did not write (interoperability tests)
  python3-virtualsmartcard  # the emulator's Python package
  python3-pycryptodome  # the emulator's ciphers (it imports them as Crypto; Debian installs Cryptodome: see fixtures/test/card/epass/vicc-epass.py)
  libusb-1.0-0      # node-hid at run time
  libudev1          # node-hid at run time
  udev              # udevadm, used by serialport's port listing
  socat             # pseudo-terminal pairs for the simulated serial scanner
  chromium          # kiosk window (development, CI) and UI tests via playwright-core
  xvfb              # virtual display for the UI tests
  xauth             # xvfb-run needs it
  fonts-noto-core   # Vietnamese glyphs in the UI and on printed tickets
  gcc               # builds the loopback wrapper around vpcd (scripts/vpcd-loopback.c)
  libc6-dev         # its C headers
  pkg-config        # finds libpcsclite's headers for it
  g++               # node-gyp builds the native addons from source at npm ci (pcsclite, pkcs11js)
  make              # node-gyp's build driver
  softhsm2          # PKCS#11 token holding the device key in development and CI (a TPM-backed token in production)
  libengine-pkcs11-openssl  # OpenSSL engine 'pkcs11': TLS signs with the token key (docs/provisioning.md)
  opensc            # pkcs11-tool, to inspect a token by hand
)

say() { printf '[setup-system] %s\n' "$*"; }
die() { printf '[setup-system] ERROR: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
  || die "this script needs a Debian-based system with apt-get and dpkg (found neither). Install the packages listed in scripts/setup-system.sh by hand."

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: run as root"
  SUDO="sudo"
fi

if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#PACKAGES[@]} system packages are already installed"
else
  say "installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || die "apt-get update failed (no network to the Debian mirror?)"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
  for p in "${missing[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || die "package $p is still not installed"
  done
  say "done: ${missing[*]}"
fi

# --- vsmartcard-vpcd on 127.0.0.1 only ---------------------------------------------------------------------------
# vpcd binds its card ports (35963, 35964) to every address, hard-coded: its reader configuration has no listen
# address, and its other mode (connecting out to the card, DEVICENAME HOST:PORT) crashes pcscd with Debian 12's
# build. So pcscd loads our wrapper driver instead (scripts/vpcd-loopback.c), which passes everything to vpcd and
# moves vpcd's listening sockets to 127.0.0.1, or refuses the reader if it cannot. The kiosk's own pcscd
# (ensurePcscd) uses the same driver and checks /proc/net/tcp; see docs/simulators.md, "vpcd on loopback only".
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
VPCD_WRAPPER=/usr/local/lib/kiosk/libifdvpcd-loopback.so   # device-drivers/src/smartcard/pcscd/vpcd-loopback.ts
VPCD_CONF=/etc/reader.conf.d/vpcd
SRC="$(cd "$(dirname "$0")" && pwd)/vpcd-loopback.c"

[ -e "$VPCD_DRIVER" ] || die "$VPCD_DRIVER is missing (package vsmartcard-vpcd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2046  # pkg-config prints several flags
cc -shared -fPIC -O2 -Wall -Wextra -Werror $(pkg-config --cflags libpcsclite) -DVPCD_DRIVER="\"$VPCD_DRIVER\"" \
  -o "$work/libifdvpcd-loopback.so" "$SRC" -ldl || die "building $SRC failed"
if cmp -s "$work/libifdvpcd-loopback.so" "$VPCD_WRAPPER"; then
  say "vpcd: loopback wrapper $VPCD_WRAPPER is up to date"
else
  $SUDO install -D -m 0644 "$work/libifdvpcd-loopback.so" "$VPCD_WRAPPER" || die "cannot install $VPCD_WRAPPER"
  say "vpcd: installed the loopback wrapper $VPCD_WRAPPER"
fi

# The same text as vpcdReaderConfig() in vpcd-loopback.ts (a unit test keeps them equal).
cat > "$work/vpcd.conf" <<'CONF'
# vsmartcard-vpcd, listening on 127.0.0.1 only: LIBPATH is the kiosk wrapper around libifdvpcd.so
# (scripts/vpcd-loopback.c, installed by scripts/setup-system.sh). Rewritten by that script.
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      /usr/local/lib/kiosk/libifdvpcd-loopback.so
CHANNELID    0x8C7B
CONF
if cmp -s "$work/vpcd.conf" "$VPCD_CONF"; then
  say "vpcd: $VPCD_CONF already names the loopback wrapper"
else
  $SUDO install -D -m 0644 "$work/vpcd.conf" "$VPCD_CONF" || die "cannot write $VPCD_CONF"
  say "vpcd: wrote $VPCD_CONF (reader driver = the loopback wrapper)"
fi

# A pcscd started before this change still has vpcd on every address until it restarts.
exposed="$(awk 'NR > 1 && ($2 ~ /:8C7B$/ || $2 ~ /:8C7C$/) && $4 == "0A" && $2 !~ /^0100007F:/ && $2 !~ /^0{24}01000000:/ { print $2 }' \
  /proc/net/tcp /proc/net/tcp6 2>/dev/null || true)"
if [ -n "$exposed" ]; then
  if [ -d /run/systemd/system ] && systemctl is-active --quiet pcscd.service; then
    $SUDO systemctl restart pcscd.service || die "restarting pcscd.service failed"
    say "vpcd: restarted pcscd.service, which still listened on every address"
  else
    say "WARNING: a running pcscd still has vpcd listening beyond loopback; restart that pcscd (the kiosk refuses it until then)"
    exit 0
  fi
fi
say "vpcd: virtual readers accept cards on 127.0.0.1 only (ports 35963, 35964)"
