#!/usr/bin/env bash
# Builds a Locust the tests run from a newer Debian than this machine's:
# a suite's python3-locust in a root folder of its own, from Debian's
# packages only, and a launcher that runs it without chroot:
#
#   <dir>/root      the suite's root (debootstrap --variant=minbase)
#   <dir>/python3   runs the root's Python with the root's own loader and
#                   libraries, so `<dir>/python3 -m locust` is that Locust
#                   on this machine's kernel, /proc, network and files
#
# Usage: tools/locust-debian.sh <suite> <version> <dir>   (as root: debootstrap needs it)
#   tools/locust-debian.sh trixie 2.24.0 bin/locust-debian13   Debian 13's
#   tools/locust-debian.sh sid 2.46.7 bin/locust-debian-sid    Debian unstable's,
#                                   the Locust of the image the pods run (2.46)
#
# Why no chroot at run time: the tests hand Locust files from this machine's
# temporary folders, and Locust needs /proc (its CPU monitor dies on
# psutil.NoSuchProcess without it), which a chroot would have to mount; a
# GitHub job in a `container:` may not mount. The root's own dynamic loader
# with --library-path runs the root's Python directly: nothing to mount, and
# the process is the one the test started (signals reach it).
#
# Idempotent: <dir>/.stamp holds a hash of this script; a current stamp and a
# working launcher skip the build (about 3 minutes and 330 MB otherwise).
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 <suite> <version> <dir>" >&2
  exit 2
fi
# What the suite tests: the upstream version of the suite's python3-locust.
# An update to another upstream version fails the build here, so that the
# tested versions in docs/architecture.md stay true until someone reads the new release.
suite=$1
want_version=$2
mkdir -p "$3"
dir=$(cd "$3" && pwd)
# A go.mod makes the folder a module of its own, so that `go vet ./...` and
# `go test ./...` of the project do not walk the root's 20,000 folders.
printf 'module locust-debian-root // built by tools/locust-debian.sh; no Go here\n' >"$dir/go.mod"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# python3-cffi-backend: python3-zmq depends on the virtual
# python3-cffi-backend-api-min/max, which debootstrap cannot resolve itself.
packages=python3-locust,python3-cffi-backend
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '[locust-debian %s] %s\n' "$suite" "$*" >&2; }

stamp=$( (cat "$here/$(basename "${BASH_SOURCE[0]}")"; echo "$suite $want_version") | sha256sum | cut -d' ' -f1)
if [[ -f $dir/.stamp && $(cat "$dir/.stamp") == "$stamp" ]] &&
  [[ $("$dir/python3" -c 'import locust; print(locust.__version__)' 2>/dev/null) == "$want_version" ]]; then
  log "Locust $want_version in $dir: up to date, skipped"
  exit 0
fi

if [[ $(id -u) != 0 ]]; then
  echo "$0: debootstrap needs root to build $dir; run it as root (CI does)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 debootstrap >/dev/null
fi

rm -f "$dir/.stamp"
root=$dir/root
rm -rf "$root" "$root.new"
log "debootstrap $suite with $packages from $mirror into $root (about 3 minutes)"
started=$(date +%s)
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root.new" "$mirror" >"$dir/debootstrap.log" 2>&1; then
  tail -20 "$dir/debootstrap.log" >&2
  echo "$0: debootstrap failed; the whole log is $dir/debootstrap.log" >&2
  exit 1
fi
mv "$root.new" "$root"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

# Debian's builds of 2.24.0 and before leave Locust's version empty (its
# _version.py is written at release time), and a master with an empty
# version rejects every worker as "pre 2.0". The root is ours: put the
# packaged version back in place. (sid's 2.46.7 carries setuptools-scm's
# __version__ line, which is left as it is.)
debian_version=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' python3-locust)
upstream=${debian_version#*:}
upstream=${upstream%%-*}
if [[ $upstream != "$want_version" ]]; then
  echo "$0: $suite now ships python3-locust $debian_version, not $want_version: read its changelog, then update want_version here and the tested versions in docs/architecture.md" >&2
  exit 1
fi
pkg=$root/usr/lib/python3/dist-packages/locust
if grep -q '^version = ' "$pkg/_version.py"; then
  printf 'version = "%s"\n' "$upstream" >"$pkg/_version.py"
elif ! grep -q "^__version__ = version = '$upstream'" "$pkg/_version.py"; then
  echo "$0: $pkg/_version.py has neither an empty version line nor version $upstream" >&2
  exit 1
fi

# The suite's Python, python3.N (not python3.N-config and such).
python=$(for f in "$root"/usr/bin/python3.[0-9]*; do
  f=${f##*/}
  if [[ $f =~ ^python3\.[0-9]+$ ]]; then echo "$f"; fi
done | sort -V | tail -1)
cat >"$dir/python3" <<EOF
#!/bin/sh
# Debian $suite's Python with its own loader and libraries (tools/locust-debian.sh).
root=\$(cd "\$(dirname "\$0")/root" && pwd)
PYTHONHOME=\$root/usr exec "\$root/lib64/ld-linux-x86-64.so.2" \\
  --library-path "\$root/lib/x86_64-linux-gnu:\$root/usr/lib/x86_64-linux-gnu" \\
  "\$root/usr/bin/$python" "\$@"
EOF
chmod +x "$dir/python3"

got=$("$dir/python3" -c 'import locust, zmq, gevent, psutil; print(locust.__version__)')
if [[ $got != "$want_version" ]]; then
  echo "$0: $dir/python3 imports Locust $got, want $want_version" >&2
  exit 1
fi
echo "$stamp" >"$dir/.stamp"
log "Locust $got ready: $dir/python3 -m locust ($(($(date +%s) - started)) s, $(du -sh "$root" | cut -f1))"
