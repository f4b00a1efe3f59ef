#!/usr/bin/env bash
# Installs the Debian packages the kiosk runtime and its tests use. Idempotent: installs only what is missing.
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

if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#PACKAGES[@]} system packages are already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: run as root to install: ${missing[*]}"
  SUDO="sudo"
fi

say "installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || die "apt-get update failed (no network to the Debian mirror?)"
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || die "apt-get install failed for: ${missing[*]}"

for p in "${missing[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || die "package $p is still not installed"
done
say "done: ${missing[*]}"
