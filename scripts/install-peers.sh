#!/usr/bin/env bash
# Installs the Debian packages the tests run as real peers (dovecot, kannel,
# prometheus, blackbox_exporter, a forward proxy, headless chromium). Idempotent: does nothing when all are present.
# Packages must not start their own services: a policy-rc.d that exits 101 is in
# place while installing, and the tests start their own instances on loopback.
set -euo pipefail

PACKAGES=(dovecot-imapd dovecot-pop3d dovecot-lmtpd kannel kannel-extras prometheus prometheus-blackbox-exporter
          chromium fonts-wqy-microhei poppler-utils prometheus-alertmanager tinyproxy)
BINARIES=(/usr/sbin/dovecot /usr/sbin/bearerbox /usr/sbin/smsbox /usr/lib/kannel/test/fakesmsc
          /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-blackbox-exporter /usr/bin/chromium
          /usr/share/fonts/truetype/wqy/wqy-microhei.ttc /usr/bin/pdftotext /usr/bin/prometheus-alertmanager
          /usr/bin/tinyproxy)

missing=0
for b in "${BINARIES[@]}"; do [ -e "$b" ] || missing=1; done
[ "$missing" = 0 ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-peers: need root (or sudo) to apt-get install ${PACKAGES[*]}" >&2; exit 1; }
  SUDO="sudo -n"
fi

echo "install-peers: installing ${PACKAGES[*]} (a minute, once)"
created=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  created=1
fi
trap '[ "$created" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -qq -o DPkg::Lock::Timeout=300 \
  --no-install-recommends -y "${PACKAGES[@]}" >/dev/null
for b in "${BINARIES[@]}"; do
  [ -e "$b" ] || { echo "install-peers: $b is missing after install" >&2; exit 1; }
done
