#!/usr/bin/env bash
# Before a deploy's `up`: looks at what an interrupted update left behind
# (a cancelled or timed-out job, a killed runner) and goes on only where the
# `up --refresh` can finish it (README: An interrupted up).
#
#   recover-interrupted.sh STACK
#
# - No pending operations in the state: nothing to do.
# - Pending updates or deletes only: the `up --refresh` that follows reads
#   the real state and clears them; this goes on.
# - Pending creates: the resource may exist (an EKS cluster, billed, whose
#   name a second one cannot take) or not. A person must look and either
#   import it or drop it; this stops, naming each one and the commands.
#
# A lock the dead update left is not removed here: `pulumi cancel` would
# also cancel a destroy running now (it has its own concurrency group), so
# the up fails on it with Pulumi's own message, and a person who has checked
# that no update runs removes it (README: An interrupted up).
#
# Exit 0 when the `up` may go on, 1 when a person must act, 2 on usage.
# Needs the Pulumi CLI logged in, and jq.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 STACK" >&2
  exit 2
fi
stack=$1

if ! state=$(pulumi stack export --stack "$stack" 2>/dev/null); then
  echo "No stack $stack yet: nothing to recover."
  exit 0
fi
# pending_operations: apitype.DeploymentV3, each {resource: {urn, type,
# inputs, ...}, type: creating|updating|deleting|reading|...}.
pending=$(jq -r '.deployment.pending_operations // [] | .[] | "\(.type) \(.resource.urn)"' <<<"$state")
if [[ -z "$pending" ]]; then
  echo "Stack $stack: no interrupted operations."
  exit 0
fi
printf 'Stack %s holds operations an interrupted update left running:\n%s\n' "$stack" "$pending"

creates=$(grep '^creating ' <<<"$pending" || true)
if [[ -n "$creates" ]]; then
  echo "::error::Stack $stack: an interrupted update was creating resources that may or may not exist. For each URN below, look in AWS (or kubectl for a Kubernetes object) and run, on a machine logged in to the backend:"
  while read -r _ urn; do
    echo "  pulumi refresh --stack $stack --yes --import-pending-creates '$urn' <ID>   # it exists: its AWS ID, or namespace/name"
  done <<<"$creates"
  echo "  pulumi refresh --stack $stack --yes --clear-pending-creates                # none of them exists"
  echo "Then run this workflow again (README: An interrupted up)."
  exit 1
fi

echo "No pending create: the up's refresh reads the real state and clears them."
