#!/usr/bin/env bash
# Builds the real programs the end-to-end test needs, from the Go module proxy
# only, into <bin-dir>:
#
#   pulumi                       Pulumi CLI v3.274.1                  (tools/pulumi)
#   pulumi-resource-kubernetes   Pulumi Kubernetes provider (4.32.0)  (tools/kubernetes-provider)
#   kube-apiserver, kube-controller-manager, kube-scheduler  v1.34.4  (tools/kubernetes)
#   etcd                         etcd v3.6.4, the version k8s 1.34.4 pins (tools/kubernetes)
#   kwok, kwokctl                KWOK v0.8.0                          (tools/kwok)
#   kubectl                      v1.34.4 (tools/kubernetes; the machine's /usr/bin/kubectl
#                                is v1.32, outside kubectl's +/-1 minor skew with 1.34)
#
# Usage: tools/build.sh <bin-dir> [part...]
#   parts: pulumi kubernetes kubectl kwok kubernetes-provider (default: all, in that order)
#
# Idempotent: each part writes <bin-dir>/.stamps/<part> holding a hash of its
# module files, flags and Go version; a part whose stamp matches and whose
# binaries exist is skipped. Builds run under `nice -n 19` and use the shared Go
# build cache (GOCACHE, default ~/.cache/go-build), so a rebuild after the stamp
# changes is mostly cache hits.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 <bin-dir> [pulumi|kubernetes|kwok|kubernetes-provider|kubectl]..." >&2
  exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
bin=$(cd "$1" && pwd)
shift
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(pulumi kubernetes kubectl kwok kubernetes-provider)

export GOFLAGS="-buildvcs=false -mod=readonly ${GOFLAGS:-}"
stamps=$bin/.stamps
mkdir -p "$stamps"

# Bump when the way a part is built changes in a way the hash does not see.
recipe=1

PULUMI_VERSION=v3.274.1
K8S_PROVIDER_VERSION=4.32.0 # version the plugin reports; installed as v4.32.0
KUBE_VERSION=v1.34.4
KUBE_TAGS=selinux,notest,grpcnotrace # as upstream's hack/lib/golang.sh

log() { printf '[build.sh] %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# stamp_key <module-dir> <extra...>: hash of the module's go.mod, go.sum and
# Go sources (not generated files), the build settings and the Go version.
stamp_key() {
  local dir=$1
  shift
  {
    echo "recipe=$recipe"
    go env GOVERSION GOOS GOARCH
    printf '%s\n' "$@"
    (cd "$dir" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -d' ' -f1
}

# run_part <part> <module-dir> <outputs...> -- <command...>
run_part() {
  local part=$1 dir=$2
  shift 2
  local outs=()
  while [[ $1 != -- ]]; do outs+=("$1"); shift; done
  shift
  local key
  key=$(stamp_key "$dir" "${build_settings[@]}")
  local ok=1 o
  for o in "${outs[@]}"; do [[ -x $bin/$o ]] || ok=0; done
  if [[ $ok == 1 && -f $stamps/$part && $(cat "$stamps/$part") == "$key" ]]; then
    log "$part: up to date (${outs[*]}), skipped"
    return 0
  fi
  rm -f "$stamps/$part"
  log "$part: building ${outs[*]}"
  local t0
  t0=$(now)
  (cd "$dir" && "$@")
  echo "$key" >"$stamps/$part"
  log "$part: done in $(elapsed "$t0")s"
}

gobuild() { nice -n 19 go build "$@"; }

build_pulumi() {
  local ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  build_settings=("ldflags=$ldflags")
  run_part pulumi "$here/pulumi" pulumi -- \
    gobuild -ldflags "$ldflags" -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

kube_ldflags() {
  local ldflags="-s -w" key
  for key in gitVersion=$KUBE_VERSION gitMajor=1 gitMinor=34 gitTreeState=clean buildDate=1970-01-01T00:00:00Z; do
    ldflags+=" -X k8s.io/component-base/version.$key -X k8s.io/client-go/pkg/version.$key"
  done
  echo "$ldflags"
}

# Static (CGO_ENABLED=0) like upstream's release binaries. etcd comes from the
# same module graph: k8s.io/kubernetes v1.34.4 pins go.etcd.io/etcd/server/v3
# v3.6.4. (Debian's etcd 3.4.23 also runs, but kube-apiserver 1.34 disables
# watch-list streams on etcd < 3.4.31, and kwok v0.8.0's informers then only see
# changes on relist: Deployments took 5-30 s instead of ~1 s to become Available.)
kubernetes_steps() {
  rm -f "$bin/etcd" # may be a symlink to a system etcd: never write through it
  CGO_ENABLED=0 nice -n 19 go build -tags "$KUBE_TAGS" -ldflags "$1" -o "$bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
  CGO_ENABLED=0 nice -n 19 go build -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
}

build_kubernetes() {
  local ldflags
  ldflags=$(kube_ldflags)
  build_settings=("ldflags=$ldflags" "tags=$KUBE_TAGS" CGO_ENABLED=0)
  run_part kubernetes "$here/kubernetes" kube-apiserver kube-controller-manager kube-scheduler etcd -- \
    kubernetes_steps "$ldflags"
}

build_kubectl() {
  local ldflags
  ldflags=$(kube_ldflags)
  build_settings=("ldflags=$ldflags" "tags=$KUBE_TAGS" CGO_ENABLED=0)
  run_part kubectl "$here/kubernetes" kubectl -- \
    env CGO_ENABLED=0 nice -n 19 go build -tags "$KUBE_TAGS" -ldflags "$ldflags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl
}

build_kwok() {
  build_settings=("ldflags=-s -w")
  run_part kwok "$here/kwok" kwok kwokctl -- \
    gobuild -ldflags "-s -w" -o "$bin/" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
}

# The proxy's copy of the provider module lacks the *-embed.json files that
# upstream's `go generate` makes; internal/gen makes them from the module's
# schema.json and terraform-mapping.json before the build.
kubernetes_provider_steps() {
  local src t0
  src=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
  if [[ -z $src || ! -f $src/cmd/pulumi-resource-kubernetes/schema.json ]]; then
    go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
    src=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
  fi
  t0=$(now)
  nice -n 19 go run ./internal/gen -version "$K8S_PROVIDER_VERSION" -src "$src/cmd/pulumi-resource-kubernetes" -out .
  log "kubernetes-provider: schema generated in $(elapsed "$t0")s"
  gobuild -ldflags "$1" -o "$bin/pulumi-resource-kubernetes" .
}

build_kubernetes_provider() {
  local ldflags="-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION"
  build_settings=("ldflags=$ldflags")
  run_part kubernetes-provider "$here/kubernetes-provider" pulumi-resource-kubernetes -- \
    kubernetes_provider_steps "$ldflags"
}

total0=$(now)
for part in "${parts[@]}"; do
  case $part in
  pulumi) build_pulumi ;;
  kubernetes-provider) build_kubernetes_provider ;;
  kubernetes) build_kubernetes ;;
  kwok) build_kwok ;;
  kubectl) build_kubectl ;;
  *)
    echo "unknown part: $part" >&2
    exit 2
    ;;
  esac
done
log "all done in $(elapsed "$total0")s (bin: $bin)"
