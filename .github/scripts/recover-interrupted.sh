#!/usr/bin/env bash
# Before a deploy's `up`: looks at what an interrupted update left behind
# (a cancelled or timed-out job, a killed runner) and goes on only where the
# `up --refresh` can finish it (README: An interrupted up).
#
#   recover-interrupted.sh STACK
#
# - A state that cannot be read (a checkpoint cut by a kill): stop, naming
#   the backup to put back.
# - No pending operations in the state: nothing to do.
# - Pending updates or deletes only: the `up --refresh` that follows reads
#   the real state and clears them; this goes on.
# - Pending creates: the resource may exist (an EKS cluster, billed, whose
#   name a second one cannot take) or not. A person must look and either
#   import it or drop it; this stops, naming each one and the commands.
#
# A lock a killed update left on a self-managed backend (file:// or s3://)
# is removed once it is older than any job that updates the stack may run
# (LOCK_STALE_MINUTES, 90: the deploy and destroy jobs time out at 60), so
# that it cannot be a running deploy's or destroy's (destroys queue apart
# from deploys). A younger lock stays: the up then fails on it with
# Pulumi's own message. On Pulumi Cloud a killed update is cancelled in its
# console or with `pulumi cancel` (README: An interrupted up).
#
# Exit 0 when the `up` may go on, 1 when a person must act, 2 on usage.
# Needs the Pulumi CLI logged in, jq, and for s3:// the AWS CLI.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 STACK" >&2
  exit 2
fi
stack=$1
stale_minutes=${LOCK_STALE_MINUTES:-90}
project=$(sed -n 's/^name: *//p' Pulumi.yaml | head -1)

# newest_lock prints when the newest lock file of the stack was written, in
# seconds since the epoch, or nothing. Locks live at
# .pulumi/locks/organization/<project>/<stack>/<id>.json (pulumi
# pkg/backend/diy/lock.go, stackLockDir).
newest_lock() {
  local url=${PULUMI_BACKEND_URL:-} rel=".pulumi/locks/organization/$project/$stack"
  case "$url" in
    file://*)
      local dir=${url#file://}
      dir=${dir%%\?*}
      find "$dir/$rel" -name '*.json' -printf '%T@\n' 2>/dev/null | sort -n | tail -1 | cut -d. -f1
      ;;
    s3://*)
      local rest=${url#s3://}
      rest=${rest%%\?*}
      local bucket=${rest%%/*} prefix=""
      [[ "$rest" == */* ]] && prefix=${rest#*/}/
      local when
      # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
      when=$(aws s3api list-objects-v2 --bucket "$bucket" --prefix "$prefix$rel/" \
        --query 'max_by(Contents || `[]`, &LastModified).LastModified' --output text 2>/dev/null || true)
      if [[ -n "$when" && "$when" != None ]]; then date -d "$when" +%s; fi
      ;;
  esac
}

lock=$(newest_lock || true)
if [[ -n "$lock" ]]; then
  age=$((($(date +%s) - lock) / 60))
  if ((age >= stale_minutes)); then
    echo "Stack $stack: a lock $age minutes old, older than any update may run ($stale_minutes): its update was killed. Removing it."
    pulumi cancel --stack "$stack" --yes
  else
    echo "Stack $stack: a lock $age minutes old; an update may still be running, so it stays (the up fails on it; see README: An interrupted up)."
  fi
fi

if ! state=$(pulumi stack export --stack "$stack" 2>"${TMPDIR:-/tmp}/export.err"); then
  if grep -q "no stack named" "${TMPDIR:-/tmp}/export.err"; then
    echo "No stack $stack yet: nothing to recover."
    exit 0
  fi
  # Seen on a file:// backend after a SIGKILL: "failed to load checkpoint: EOF".
  echo "::error::Stack $stack: its state cannot be read: $(cat "${TMPDIR:-/tmp}/export.err"). An update killed while writing it leaves it so. Put the previous state back (README: An interrupted up): on file://, .pulumi/stacks/$project/$stack.json.bak over $stack.json; on s3://, the object's previous version. Then run this again."
  exit 1
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
  # The URNs the state already holds: a create of one of them was a
  # replacement, whose half-made object is deleted, never imported.
  held=$(jq -r '.deployment.resources // [] | .[].urn' <<<"$state")
  while read -r _ urn; do
    if grep -qxF "$urn" <<<"$held"; then
      echo "  $urn: a replacement of a resource the state holds; if its new object exists, delete it (not import), then clear"
    else
      echo "  pulumi refresh --stack $stack --yes --import-pending-creates '$urn' <ID>   # it exists: its AWS ID, or namespace/name"
    fi
  done <<<"$creates"
  echo "  pulumi refresh --stack $stack --yes --clear-pending-creates                # the rest: none of them exists"
  echo "Then run this workflow again (README: An interrupted up)."
  exit 1
fi

echo "No pending create: the up's refresh reads the real state and clears them."
