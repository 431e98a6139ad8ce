#!/usr/bin/env bash
# Installs the Debian packages Guichet's demo and tests use, only those missing.
# Usage: scripts/apt-deps.sh demo|test|image
set -euo pipefail
# fonts-dejavu-core: DejaVu Sans draws Arabic (kiosk, board, the printer's drawn lines).
demo_pkgs=(espeak-ng sox alsa-utils fonts-dejavu-core xvfb xauth libmtdev1)
test_pkgs=("${demo_pkgs[@]}" xdotool socat chromium chromium-driver systemd udev haproxy iproute2)
image_pkgs=(debootstrap systemd util-linux)
case "${1:-test}" in
  demo) want=("${demo_pkgs[@]}") ;;
  test) want=("${test_pkgs[@]}") ;;
  image) want=("${image_pkgs[@]}") ;;
  *) echo "usage: $0 demo|test|image" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
