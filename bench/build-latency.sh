#!/usr/bin/env bash
# What `pulumi preview` waits for before the program even runs: Go compiles
# and links the program on every preview, the way pulumi-language-go (3.248
# and later) does it: `go build -buildvcs=false -trimpath -ldflags "-w -s"`
# (sdk/go/pulumi-language-go/main.go), flags that win over any GOFLAGS.
# Measures:
#   warm edit-to-build  main.go edited, everything else cached
#   warm no-change      nothing edited, built to a new temporary file as the
#                       Go host does by default, and to a path whose binary is
#                       already current, as with runtime option buildTarget
#   warm go test        test binaries compiled and linked, no test run
#   cold build          (with --cold) an empty build cache, module cache kept
# Prints each run, the medians and the program's size.
#
# Usage: bench/build-latency.sh [--cold] [runs]
set -euo pipefail
cold=false
if [[ "${1:-}" == --cold ]]; then cold=true; shift; fi
runs=${1:-3}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
cp main.go "$work/main.go.orig"
trap 'cp "$work/main.go.orig" main.go; rm -rf "$work"' EXIT

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}'; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# The language host's own flags.
cli_flags=(-buildvcs=false -trimpath -ldflags "-w -s")
build() { go build "${cli_flags[@]}" -o "$1" .; }

edit_build() {
  printf '\n// edited %s\n' "$(date +%s%N)" >>main.go
  seconds build "$work/program"
  cp "$work/main.go.orig" main.go
}

echo "Go $(go version | awk '{print $3}'), $(nproc) CPUs, $runs runs each"
build "$work/program" # warm the cache for these flags
go build -o "$work/program-debug" . # the same program with symbols, for its size
cp main.go "$work/main.go.orig" # the builds above leave main.go as it was
printf '%-36s %s\n' "measurement" "seconds (runs ... | median)"
all=""
for _ in $(seq "$runs"); do all+=" $(edit_build)"; done
printf '%-36s %s | %s\n' "warm edit-to-build" "$all" "$(echo "$all" | median)"
build "$work/program" # current again, after the edits
all=""
for i in $(seq "$runs"); do all+=" $(seconds build "$work/fresh-$i")"; done
printf '%-36s %s | %s\n' "warm no-change, new output file" "$all" "$(echo "$all" | median)"
all=""
for _ in $(seq "$runs"); do all+=" $(seconds build "$work/program")"; done
printf '%-36s %s | %s\n' "warm no-change, buildTarget current" "$all" "$(echo "$all" | median)"
all=""
for _ in $(seq "$runs"); do
  printf '\n// edited %s\n' "$(date +%s%N)" >>main.go
  all+=" $(seconds go test -count=1 -run '^$' ./...)"
  cp "$work/main.go.orig" main.go
done
printf '%-36s %s | %s\n' "warm go test (build only)" "$all" "$(echo "$all" | median)"
if $cold; then
  printf '%-36s %s\n' "cold build (empty GOCACHE)" "$(GOCACHE="$work/gocache" seconds build "$work/program-cold")"
fi
printf 'program size: %s MB as the language host builds it, %s MB with symbols and DWARF\n' \
  "$(du -m "$work/program" | cut -f1)" "$(du -m "$work/program-debug" | cut -f1)"
