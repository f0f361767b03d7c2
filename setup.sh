#!/usr/bin/env bash
# Makes a fresh Debian machine ready for firstbell: system packages, npm packages, build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

# chromium: browser users and the report check; janus: the media layer (SFU); libjs-janus-gateway and
# libjs-webrtc-adapter: janus.js for the classroom page example; nginx and wrk: the benchmark sink and a peer
# tool; iproute2: loopback-only veth for media; openssl: certificates for the HTTPS tests; prometheus,
# prometheus-nginx-exporter and prometheus-node-exporter: the platform's signals read from a Prometheus
# (--watch prometheus:…) and firstbell's figures written to one, in the tests; xvfb: a display for the test of
# firstbell record in a window.
APT_PACKAGES=(chromium janus libjs-janus-gateway libjs-webrtc-adapter nginx wrk iproute2 openssl fonts-dejavu-core prometheus prometheus-nginx-exporter prometheus-node-exporter xvfb)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packaged services are started by firstbell itself when needed, never at boot.
  for svc in janus nginx prometheus prometheus-nginx-exporter prometheus-node-exporter; do $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; done
fi

# Janus gathers no ICE candidates on lo: a veth pair whose end carries 127.77.0.1 keeps media on this machine.
if ! ip -o addr show dev fbmedia0 2>/dev/null | grep -q 127.77.0.1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: adding the media interface fbmedia0 (127.77.0.1)"
  ip link show fbmedia0 >/dev/null 2>&1 || $SUDO ip link add fbmedia0 type veth peer name fbmedia1
  $SUDO ip addr add 127.77.0.1/32 dev fbmedia0 2>/dev/null || true
  $SUDO ip link set fbmedia0 up
  $SUDO ip link set fbmedia1 up
fi

# puppeteer-core never downloads a browser; this keeps any other package from trying.
export PUPPETEER_SKIP_DOWNLOAD=1
npm ci --no-audit --no-fund
npm run build
echo "setup: ready. Try: npx firstbell demo"
