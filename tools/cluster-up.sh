#!/usr/bin/env bash
# Starts a throw-away Kubernetes control plane with kwokctl (runtime: binary):
# etcd 3.6.4, kube-apiserver, kube-controller-manager, kube-scheduler and the kwok
# controller run as local processes bound to 127.0.0.1 (ports chosen free);
# kwok fakes every Node and the Pods bound to them, so Deployments become
# Available with no kubelet and no images pulled. Nothing is downloaded.
#
# Usage: tools/cluster-up.sh <bin-dir> <name> [workdir]
#   <bin-dir>  built by tools/build.sh (kube-*, etcd, kwok, kwokctl)
#   workdir    all state (config, pki, etcd data, logs, kubeconfig) goes here;
#              default: a new mktemp -d. Stop with tools/cluster-down.sh.
# Prints on stdout, for eval:
#   export KWOK_WORKDIR=<workdir> KUBECONFIG=<workdir>/clusters/<name>/kubeconfig.yaml
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 <bin-dir> <name> [workdir]" >&2
  exit 2
fi
bin=$(cd "$1" && pwd)
name=$2
work=${3:-$(mktemp -d "${TMPDIR:-/tmp}/kwok-$name.XXXXXX")}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# kubectl: $KUBECTL, else <bin-dir>/kubectl (tools/build.sh <bin-dir> kubectl),
# else the gcloud SDK's kubectl.1.33 (within the supported skew of 1.34), else PATH.
kubectl_bin=${KUBECTL:-}
for k in "$bin/kubectl" /usr/lib/google-cloud-sdk/bin/kubectl.1.33 "$(command -v kubectl || true)"; do
  if [[ -z $kubectl_bin && -n $k && -x $k ]]; then kubectl_bin=$k; fi
done
for b in kube-apiserver kube-controller-manager kube-scheduler kwok kwokctl etcd; do
  [[ -x $bin/$b ]] || { echo "missing $bin/$b: run tools/build.sh $bin" >&2; exit 1; }
done

config=$work/kwokctl.yaml
cat >"$config" <<YAML
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: v1.34.4
  etcdVersion: 3.6.4
  cacheDir: $work/cache
  kubeApiserverBinary: $bin/kube-apiserver
  kubeControllerManagerBinary: $bin/kube-controller-manager
  kubeSchedulerBinary: $bin/kube-scheduler
  kwokControllerBinary: $bin/kwok
  etcdBinary: $bin/etcd
  # PortForward: a fake pod's port forwarded to a real local process, so
  # that a port-forward through the API server reaches a local Locust.
  enableCRDs: [PortForward]
${kubectl_bin:+  kubectlBinary: $kubectl_bin}
YAML

export KWOK_WORKDIR=$work
t0=$(date +%s.%N)
"$bin/kwokctl" create cluster --name "$name" --config "$config" --wait 60s >&2
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "[cluster-up] %s ready in %.1fs\n", ARGV[1], b - a }' "$name" >&2
echo "export KWOK_WORKDIR=$work KUBECONFIG=$work/clusters/$name/kubeconfig.yaml${kubectl_bin:+ KUBECTL=$kubectl_bin}"
