#!/usr/bin/env bash
# Builds the Guichet SD-card image, or customises an existing root folder with the same recipe.
#
#   sudo images/build.sh image            Raspberry Pi OS Lite (64-bit) -> build/guichet-*.img.xz
#   sudo images/build.sh customize ROOT   run the recipe in the root folder ROOT (a Debian
#                                         bookworm made with debootstrap: the recipe's test)
#
# Run from the repository's top folder, as root, on Debian 12 or later. The image build needs
# qemu-user-static and binfmt-support (to run arm64 programs), xz-utils, fdisk, e2fsprogs,
# dosfstools, curl, python3 with pip (to build Guichet's wheel). Settings: images/config, then
# images/config.local, then the environment. See docs/image.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
[ -f images/config.local ] && source images/config.local
source images/config
module="$repo/images/modules/guichet"

die() { echo "build.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (it mounts file systems)"

mounted=()       # image partitions, unmounted last
chroot_mounts=() # kernel file systems inside the chroot
loopdev=""
unmount_all() {  # unmount_all NAME: unmounts the mount points listed in array NAME, last first
  local -n list="$1"
  local i
  for ((i = ${#list[@]} - 1; i >= 0; i--)); do
    umount -l "${list[$i]}" 2>/dev/null || true
  done
  list=()
}
cleanup() {
  unmount_all chroot_mounts
  unmount_all mounted
  if [ -n "$loopdev" ]; then
    losetup -d "$loopdev" 2>/dev/null || true
    loopdev=""
  fi
}
trap cleanup EXIT

mount_into() {  # mount_into ROOT: the kernel file systems a chroot needs
  local root="$1" fs
  for fs in proc sys dev; do
    mkdir -p "$root/$fs"
  done
  mount -t proc proc "$root/proc" && chroot_mounts+=("$root/proc")
  mount -t sysfs sys "$root/sys" && chroot_mounts+=("$root/sys")
  mount --bind /dev "$root/dev" && chroot_mounts+=("$root/dev")
  mkdir -p "$root/dev/pts"
  mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 &&
    chroot_mounts+=("$root/dev/pts")
}

stage() {  # stage ROOT: what start_chroot_script reads, in ROOT/tmp/guichet-src
  local root="$1" staged="$1/tmp/guichet-src"
  rm -rf "$staged"
  mkdir -p "$staged/dist" "$staged/docs"
  "${PYTHON:-python3}" -m pip wheel --quiet --no-deps --wheel-dir "$staged/dist" "$repo"
  {
    echo "GUICHET_ROLES='$GUICHET_ROLES'"
    echo "GUICHET_VENV='$GUICHET_VENV'"
    echo "GUICHET_PLATFORM='$GUICHET_PLATFORM'"
  } > "$staged/config"
  cp images/requirements.lock "$staged/"
  # pip in the chroot trusts what the build machine trusts (a proxy's certificate authority,
  # say); the file is deleted with the rest of the staging folder.
  cp "${GUICHET_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}" "$staged/build-ca.crt"
  cp -a systemd "$staged/systemd"
  cp docs/install.md docs/image.md "$staged/docs/" 2>/dev/null || true
  cp -a "$module/filesystem" "$module/boot" "$staged/"
  cp "$module/start_chroot_script" "$staged/"
}

customize() {  # customize ROOT: run the recipe inside ROOT
  local root="$1"
  [ -x "$root/bin/sh" ] || die "$root does not look like a root file system"
  stage "$root"
  mount_into "$root"
  # apt and pip in the chroot resolve names with the build machine's resolver.
  local resolv="$root/etc/resolv.conf" saved="$root/etc/resolv.conf.guichet-saved"
  rm -f "$saved"
  if [ -e "$resolv" ] || [ -L "$resolv" ]; then
    mv "$resolv" "$saved"
  fi
  cp /etc/resolv.conf "$resolv"
  local status=0
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root PIP_CERT=/tmp/guichet-src/build-ca.crt \
    bash /tmp/guichet-src/start_chroot_script || status=$?
  if [ -L "$resolv" ]; then
    rm -f "$saved"  # the recipe pointed it at the network manager's file: keep that
  else
    rm -f "$resolv"
    if [ -e "$saved" ] || [ -L "$saved" ]; then mv "$saved" "$resolv"; fi
  fi
  unmount_all chroot_mounts
  return "$status"
}

fetch_base() {  # prints the path of the verified, uncompressed base image
  local cache="$GUICHET_BUILD_DIR/cache" name
  name="$(basename "$GUICHET_BASE_IMAGE_URL")"
  mkdir -p "$cache"
  if [ ! -f "$cache/$name" ]; then
    curl --fail --location --retry 3 --output "$cache/$name.part" "$GUICHET_BASE_IMAGE_URL" >&2
    mv "$cache/$name.part" "$cache/$name"
  fi
  echo "$GUICHET_BASE_IMAGE_SHA256  $cache/$name" | sha256sum --check --quiet >&2 ||
    die "$cache/$name does not match GUICHET_BASE_IMAGE_SHA256: refusing to build on it"
  if [ ! -f "$cache/${name%.xz}" ]; then
    xz --decompress --keep --stdout "$cache/$name" > "$cache/${name%.xz}.part"
    mv "$cache/${name%.xz}.part" "$cache/${name%.xz}"
  fi
  echo "$cache/${name%.xz}"
}

image() {
  local base out version root
  [ "$GUICHET_PLATFORM" = "rpi" ] || die "the SD-card image is for GUICHET_PLATFORM=rpi"
  base="$(fetch_base)"
  version="$(python3 -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')"
  out="$GUICHET_BUILD_DIR/guichet-$version-$(date -u +%Y%m%d).img"
  cp --sparse=always "$base" "$out"

  # Room for Guichet on the root partition (2), then a data partition (3) at the end.
  truncate -s "+${GUICHET_ROOT_EXTRA_MB}M" "$out"
  echo ", +" | sfdisk --no-reread --no-tell-kernel -N 2 "$out"
  truncate -s "+${GUICHET_DATA_MB}M" "$out"
  echo "," | sfdisk --no-reread --no-tell-kernel --append "$out"

  loopdev="$(losetup --find --show --partscan "$out")"
  e2fsck -p -f "${loopdev}p2" || [ $? -le 1 ]
  resize2fs "${loopdev}p2"
  mkfs.ext4 -q -L guichet-data "${loopdev}p3"

  root="$GUICHET_BUILD_DIR/root"
  mkdir -p "$root"
  mount "${loopdev}p2" "$root" && mounted+=("$root")
  mount "${loopdev}p1" "$root/boot/firmware" && mounted+=("$root/boot/firmware")
  customize "$root"
  cleanup

  xz --force --threads=0 "$out"
  (cd "$(dirname "$out")" && sha256sum "$(basename "$out").xz" > "$(basename "$out").xz.sha256")
  echo "Built $out.xz"
}

case "${1:-}" in
  image) image ;;
  customize) [ $# -eq 2 ] || die "usage: build.sh customize ROOT"; customize "$2" ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
