#!/usr/bin/env bash
# Installs Guichet's systemd units, service account, udev rules and (for the kiosk and the board)
# the console lockdown, on a Debian / Raspberry Pi OS system or into a root folder being built.
#
#   systemd/install.sh [--root DIR] [--venv DIR] [--role ROLE]... [--lockdown] [--image]
#
#   --root DIR   install into DIR instead of / (an image being built, a test folder)
#   --venv DIR   where Guichet's virtual environment lives (default /opt/guichet/venv)
#   --role ROLE  enable guichet-ROLE.service (kiosk, display or server); repeatable
#   --lockdown   no getty on tty1, no Ctrl-Alt-Del, no SysRq, no login on other terminals
#   --image      also install the first-boot unit of the SD-card image (read-only root)
#
# Files already present in /etc/default are kept. Run as root. See docs/install.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
root=""
venv="/opt/guichet/venv"
roles=()
lockdown=0
image=0

while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2%/}"; shift 2 ;;
    --venv) venv="${2%/}"; shift 2 ;;
    --role) roles+=("$2"); shift 2 ;;
    --lockdown) lockdown=1; shift ;;
    --image) image=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for role in "${roles[@]}"; do
  case "$role" in
    kiosk|display|server) ;;
    *) echo "install.sh: --role must be kiosk, display or server, not '$role'" >&2; exit 2 ;;
  esac
done

systemctl_root=()
[ -n "$root" ] && systemctl_root=(--root="$root")
# Talk to the running systemd only when installing on the live system.
live=0
[ -z "$root" ] && [ -d /run/systemd/system ] && live=1

put() {  # put MODE SOURCE DEST
  install -D -m "$1" "$2" "$root$3"
}

units=(guichet-kiosk.service guichet-display.service guichet-server.service)
[ "$image" -eq 1 ] && units+=(guichet-firstboot.service)
for unit in "${units[@]}"; do
  put 0644 "$here/$unit" "/etc/systemd/system/$unit"
  if [ "$venv" != "/opt/guichet/venv" ]; then
    sed -i "s#/opt/guichet/venv/#$venv/#g" "$root/etc/systemd/system/$unit"
  fi
done
put 0644 "$here/sysusers.d/guichet.conf" /etc/sysusers.d/guichet.conf
put 0644 "$here/tmpfiles.d/guichet.conf" /etc/tmpfiles.d/guichet.conf
for rules in "$here"/udev/*.rules; do
  put 0644 "$rules" "/etc/udev/rules.d/$(basename "$rules")"
done
for role in kiosk display server; do
  [ -e "$root/etc/default/guichet-$role" ] || put 0644 "$here/default/guichet-$role" "/etc/default/guichet-$role"
done
for doc in install.md image.md; do
  [ -f "$repo/docs/$doc" ] && put 0644 "$repo/docs/$doc" "/usr/share/doc/guichet/$doc"
done

# The service account and its folders.
systemd-sysusers "${systemctl_root[@]}" "$root/etc/sysusers.d/guichet.conf"
systemd-tmpfiles "${systemctl_root[@]}" --create "$root/etc/tmpfiles.d/guichet.conf"

if [ "$lockdown" -eq 1 ]; then
  put 0644 "$here/lockdown/sysctl.d/90-guichet-lockdown.conf" /etc/sysctl.d/90-guichet-lockdown.conf
  put 0644 "$here/lockdown/logind.conf.d/90-guichet-lockdown.conf" \
    /etc/systemd/logind.conf.d/90-guichet-lockdown.conf
  put 0644 "$here/lockdown/system.conf.d/90-guichet-lockdown.conf" \
    /etc/systemd/system.conf.d/90-guichet-lockdown.conf
  # The kiosk or board owns tty1: no login prompt there, whichever name starts it.
  systemctl "${systemctl_root[@]}" mask getty@tty1.service autovt@tty1.service ctrl-alt-del.target
fi

if [ "$image" -eq 1 ]; then
  systemctl "${systemctl_root[@]}" enable guichet-firstboot.service
fi
for role in "${roles[@]}"; do
  systemctl "${systemctl_root[@]}" enable "guichet-$role.service"
done

if [ "$live" -eq 1 ]; then
  systemctl daemon-reload
  udevadm control --reload && udevadm trigger --subsystem-match=tty --subsystem-match=usb || true
  [ "$lockdown" -eq 1 ] && sysctl -q -p /etc/sysctl.d/90-guichet-lockdown.conf
fi
echo "Guichet units installed${root:+ into $root}: ${units[*]}"
