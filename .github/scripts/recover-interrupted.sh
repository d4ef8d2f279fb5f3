#!/usr/bin/env bash
# Looks at what an interrupted update left behind (a cancelled or timed-out
# job, a killed runner) and clears what facts show to be dead (docs/recovery.md).
#
#   recover-interrupted.sh [--dead-host HOST] [--dead-run RUN_ID] [--before up|destroy] [--exists-output FILE] STACK
#   recover-interrupted.sh --after-destroy STACK
#
# --exists-output FILE (campaign.yml's destroy legs, FILE their step's
# $GITHUB_OUTPUT): once the backend has answered, append exists=true (the
# state was read) or exists=false (the backend holds no such stack) to FILE.
# Nothing is written when the state could not be read: a caller that skips
# its destroy on exists=false alone then still destroys.
#
# --before up (the default; deploy.yml, campaign.yml's up):
# - A state that cannot be read: stop. On file://, a checkpoint cut by a
#   kill is named with its backup to compare and put back; any other export
#   error is printed as it is, with no remedy.
# - No pending operations in the state: nothing to do.
# - Pending updates or deletes only: the `up --refresh` that follows reads
#   the real state and clears them; this goes on.
# - Pending creates: the resource may exist (an EKS cluster, billed, whose
#   name a second one cannot take) or not. A person must look; this stops,
#   printing for each one either a line "import-command: pulumi refresh ..."
#   (the ID is filled in for a Kubernetes object, else the literal <ID> to
#   replace) or, for a replacement, which object to delete and which to
#   keep, and one line "clear-command: pulumi refresh ...".
# --before destroy (campaign.yml's destroy): the same, but pending creates
#   only warn: `pulumi destroy` runs despite them (it keeps them in the
#   state), and --after-destroy lists them.
# --after-destroy: exit 1, listing them, when the state still holds
#   resources or pending creates after the destroy.
#
# Locks (self-managed backends, file:// or s3://): each lock file of the
# stack holds its writer's hostname, pid and time (pulumi
# pkg/backend/diy/lock.go, lockContent). One whose hostname is --dead-host
# (a job of this run that has ended, whose runner killed what it left
# running) is deleted whatever its age; one older than any job that may
# hold a lock while this runs (LOCK_STALE_MINUTES, 90: deploys and
# campaigns, which run this, share the stack's deploy group; destroy.yml and
# the reaper queue apart and time out at 60) is deleted too. Only that file is deleted, by its key: `pulumi cancel`
# deletes every lock of the stack, a live one written meanwhile included
# (pulumi pkg/backend/diy/backend.go, CancelCurrentUpdate). A younger lock
# of another host stays: the command after this fails on it with Pulumi's
# own message. Pulumi Cloud keeps no lock file: a killed update stays in
# progress there until cancelled. With --dead-run (campaign.yml's destroy
# legs: their own GITHUB_RUN_ID, whose up legs have ended and whose runners
# killed what they left running), the stack's newest update is cancelled
# (`pulumi cancel`) when it is in progress and was started by that run: the
# CLI records the run in the update's environment as ci.build.id (pulumi
# sdk go/common/util/ciutil/github_actions.go DetectVars, BuildID =
# GITHUB_RUN_ID; pkg cmd/pulumi/metadata/metadata.go). An update in
# progress of any other run, or none, stays.
#
# Exit 0 when the next command may go on, 1 when a person must act, 2 on
# usage. Needs the Pulumi CLI logged in, jq, GNU date, and for s3:// the
# AWS CLI.
set -euo pipefail

usage() {
  echo "usage: $0 [--dead-host HOST] [--dead-run RUN_ID] [--before up|destroy] [--exists-output FILE] STACK | $0 --after-destroy STACK" >&2
  exit 2
}
dead_host="" dead_run="" mode=up exists_output=""
while (($# > 1)); do
  case "$1" in
    --dead-host) dead_host=$2; shift 2 ;;
    --dead-run) dead_run=$2; shift 2 ;;
    --before)
      [[ "$2" == up || "$2" == destroy ]] || usage
      mode=$2
      shift 2
      ;;
    --after-destroy) mode=after-destroy; shift ;;
    --exists-output) exists_output=$2; shift 2 ;;
    *) usage ;;
  esac
done
(($# == 1)) || usage
stack=$1
stale_minutes=${LOCK_STALE_MINUTES:-90}
project=$(sed -n 's/^name: *//p' Pulumi.yaml | head -1)
url=${PULUMI_BACKEND_URL:-}
err=$(mktemp)
trap 'rm -f "$err"' EXIT

# A URL's query parameter, or nothing.
query_param() {
  local query=${url#*\?}
  [[ "$url" == *\?* ]] || return 0
  tr '&' '\n' <<<"$query" | sed -n "s/^$1=//p" | head -1
}

# The backend's root: a directory for file://, bucket and key prefix for
# s3://, with the AWS CLI options its URL carries (pulumi
# pkg/backend/diy/backend.go: massageBlobPath expands file://~ to the home
# directory; translateLegacyS3Params gives an endpoint without a scheme
# https://, or http:// with disableSSL; region and profile are gocloud's
# s3blob URL options).
root="" bucket="" prefix=""
aws_args=()
case "$url" in
  file://*)
    root=${url#file://}
    root=${root%%\?*}
    # A literal ~, which Pulumi expands itself.
    tilde='~'
    if [[ "$root" == "$tilde" ]]; then
      root=$HOME
    elif [[ "$root" == "$tilde/"* ]]; then
      root=$HOME/${root#"$tilde/"}
    fi
    ;;
  s3://*)
    rest=${url#s3://}
    rest=${rest%%\?*}
    bucket=${rest%%/*}
    if [[ "$rest" == */* && -n "${rest#*/}" ]]; then prefix=${rest#*/}/; fi
    region=$(query_param region)
    profile=$(query_param profile)
    endpoint=$(query_param endpoint)
    if [[ -n "$region" ]]; then aws_args+=(--region "$region"); fi
    if [[ -n "$profile" ]]; then aws_args+=(--profile "$profile"); fi
    if [[ -n "$endpoint" ]]; then
      if [[ "$endpoint" != *://* ]]; then
        scheme=https
        if [[ "$(query_param disableSSL)" == true || "$(query_param disable_https)" == true ]]; then scheme=http; fi
        endpoint=$scheme://$endpoint
      fi
      aws_args+=(--endpoint-url "$endpoint")
    fi
    ;;
esac

# The stack's lock directories: .pulumi/locks/organization/<project>/<stack>
# in the project layout, .pulumi/locks/<stack> in the legacy one (pulumi
# pkg/backend/diy/lock.go stackLockDir of the reference's
# FullyQualifiedName, backend.go diyBackendReference).
lock_dirs=(".pulumi/locks/organization/$project/$stack" ".pulumi/locks/$stack")

# list_locks prints the key of each lock file of the stack, one a line.
list_locks() {
  local dir
  for dir in "${lock_dirs[@]}"; do
    if [[ -n "$root" ]]; then
      local f
      for f in "$root/$dir"/*.json; do
        if [[ -f "$f" ]]; then echo "$dir/${f##*/}"; fi
      done
    else
      local listing
      if ! listing=$(aws "${aws_args[@]}" s3api list-objects-v2 --bucket "$bucket" --prefix "$prefix$dir/" --output json); then
        echo "::error::Stack $stack: the AWS CLI could not list its locks under s3://$bucket/$prefix$dir/ (its error above); nothing was changed." >&2
        return 1
      fi
      # An empty answer holds no Contents (S3 ListObjectsV2); keys are
      # full, the prefix included.
      jq -r '.Contents // [] | .[].Key' <<<"$listing" | while read -r key; do
        local name=${key#"$prefix$dir/"}
        if [[ "$name" != */* && "$name" == *.json ]]; then echo "$dir/$name"; fi
      done
    fi
  done
}

read_lock() {
  if [[ -n "$root" ]]; then
    cat "$root/$1"
  else
    aws "${aws_args[@]}" s3 cp "s3://$bucket/$prefix$1" - </dev/null
  fi
}

delete_lock() {
  if [[ -n "$root" ]]; then
    rm -f "$root/$1"
  else
    aws "${aws_args[@]}" s3api delete-object --bucket "$bucket" --key "$prefix$1" >/dev/null </dev/null
  fi
}

next="the $mode"
[[ "$mode" == after-destroy ]] && next="the next command"
if [[ -n "$root" || -n "$bucket" ]]; then
  keys=$(list_locks)
  while read -r key; do
    [[ -n "$key" ]] || continue
    if ! content=$(read_lock "$key"); then
      echo "::error::Stack $stack: its lock $key cannot be read (the error above); nothing was changed."
      exit 1
    fi
    if ! fields=$(jq -er '"\(.hostname)\t\(.pid)\t\(.username)\t\(.timestamp)"' <<<"$content" 2>/dev/null); then
      echo "::error::Stack $stack: its lock $key is not a Pulumi lock file ($content); nothing was changed."
      exit 1
    fi
    IFS=$'\t' read -r host pid user stamp <<<"$fields"
    who="written by $user@$host, pid $pid, at $stamp"
    if [[ -n "$dead_host" && "$host" == "$dead_host" ]]; then
      echo "Stack $stack: a lock $who: that runner's job has ended, so its update is dead. Removing it. Its file: $key"
      delete_lock "$key"
      continue
    fi
    if ! written=$(date -d "$stamp" +%s); then
      echo "::error::Stack $stack: its lock $key has a timestamp date cannot read: $stamp"
      exit 1
    fi
    age=$((($(date +%s) - written) / 60))
    if ((age >= stale_minutes)); then
      echo "Stack $stack: a lock $age minutes old, older than any update may run ($stale_minutes): its update was killed ($who). Removing it. Its file: $key"
      delete_lock "$key"
    else
      echo "Stack $stack: a lock $age minutes old; an update may still be running, so it stays ($who; $next fails on it; see docs/recovery.md)."
    fi
  done <<<"$keys"
elif [[ -n "$dead_run" ]]; then
  # The newest update, as `pulumi stack history --json` prints it: an array
  # of {kind, startTime, environment, result, ...}, result "in-progress"
  # while it runs (pulumi pkg cmd/pulumi/stack/stack_history.go,
  # updateInfoJSON; backend/updates.go InProgressResult).
  if ! history=$(pulumi stack history --json --page-size 1 --stack "$stack" 2>"$err"); then
    if grep -q "no stack named" "$err"; then
      history="[]"
    else
      echo "::error::Stack $stack: its update history cannot be read (pulumi stack history): $(<"$err")"
      exit 1
    fi
  fi
  # One field a call: read would merge empty fields split by tabs.
  result=$(jq -r '.[0].result // ""' <<<"$history")
  run=$(jq -r '.[0].environment["ci.build.id"] // ""' <<<"$history")
  kind=$(jq -r '.[0].kind // "update"' <<<"$history")
  # pulumi cancel cancels the update in progress when it runs, not one by
  # its ID: one that replaced this run's in the moment between would be
  # cancelled instead. Nothing else starts an update meanwhile: deploys and
  # campaigns wait in this run's concurrency group, and anything else fails
  # on the update in progress (409).
  if [[ "$result" == in-progress && "$run" == "$dead_run" ]]; then
    echo "Stack $stack: its $kind in progress on Pulumi Cloud was started by this workflow run ($dead_run), whose job has ended and whose runner killed the CLI: cancelling it."
    pulumi cancel --yes --stack "$stack"
  elif [[ "$result" == in-progress ]]; then
    echo "Stack $stack: an operation ($kind) is in progress on Pulumi Cloud, started by ${run:+run }${run:-no workflow run}, not by this run ($dead_run): it stays, and $next fails on it (docs/recovery.md)."
  fi
fi

# export_state reads the state into $state; on file:// it first mends what
# a kill can cut there (cut_sidecar).
export_state() { state=$(pulumi stack export --stack "$stack" 2>"$err"); }

# cut_sidecar removes the state's metadata sidecar when a kill cut it. On
# file://, gocloud.dev's fileblob writes a blob to a temporary file and
# renames it into place, which a kill cannot cut, but first writes the
# blob's attributes (content type, MD5) to NAME.attrs in place, os.Create
# then encode (blob/fileblob/attrs.go, setAttrs); every read of the blob
# decodes that file (getAttrs), so an empty or half-written one fails every
# export with "failed to load checkpoint: EOF", and putting the .bak back
# does not help. A missing sidecar is read as default attributes, so
# removing a cut one loses nothing. The state itself is whole; as the
# sidecar is written before the rename, it may lack the one write the kill
# stopped, and what that write recorded shows as a pending operation, which
# the checks below handle.
cut_sidecar() {
  local dir attrs
  for dir in "$root/.pulumi/stacks/$project" "$root/.pulumi/stacks"; do
    attrs="$dir/$stack.json.attrs"
    if [[ -e "$dir/$stack.json" && -e "$attrs" ]] && ! jq -se 'length == 1 and (.[0] | type == "object")' "$attrs" >/dev/null 2>&1; then
      echo "Stack $stack: its state's metadata file $attrs is cut ($(wc -c <"$attrs") bytes), as a kill during its write leaves it; the state itself is whole (perhaps one write behind: see its pending operations). Removing the metadata file."
      rm -f "$attrs"
      return 0
    fi
  done
  return 1
}

exported=false
export_state && exported=true
if ! $exported && [[ -n "$root" ]] && cut_sidecar; then
  export_state && exported=true
fi
if ! $exported; then
  if grep -q "no stack named" "$err"; then
    echo "No stack $stack: nothing to recover."
    if [[ -n "$exists_output" ]]; then echo "exists=false" >>"$exists_output"; fi
    exit 0
  fi
  # DIY writes replace the checkpoint atomically (pulumi
  # pkg/backend/diy/state.go: "WriteAll will atomically replace it"), and an
  # S3 PutObject is whole or absent: only a cut file:// checkpoint is the
  # kill's doing ("failed to load checkpoint: EOF" seen in our end-to-end
  # test; JSON decode errors from pkg/resource/stack/checkpoint.go). Other
  # errors (access, network, throttling) get no remedy: putting an older
  # state back would forget what the last update created.
  if [[ -n "$root" ]] && grep -Eq 'failed to load checkpoint: .*(EOF|unexpected end of JSON input|invalid character|cannot unmarshal)' "$err"; then
    dir="$root/.pulumi/stacks/$project"
    [[ -e "$dir/$stack.json.bak" ]] || dir="$root/.pulumi/stacks"
    echo "::error::Stack $stack: its state file cannot be read: $(cat "$err"). A CLI killed while writing it can leave it so. Compare the backup with it first (diff $dir/$stack.json.bak $dir/$stack.json): the backup is the state before the last write, so what that write recorded is lost when it is put back. Then put it back (cp $dir/$stack.json.bak $dir/$stack.json) and run this again (docs/recovery.md)."
  else
    echo "::error::Stack $stack: pulumi stack export failed: $(cat "$err")"
  fi
  exit 1
fi
if [[ -n "$exists_output" ]]; then echo "exists=true" >>"$exists_output"; fi

if [[ "$mode" == after-destroy ]]; then
  left=$(jq -r '.deployment.resources // [] | .[] | "  \(.urn)"' <<<"$state")
fi
# pending_operations: apitype.DeploymentV3, each {resource: {urn, type, id,
# inputs, ...}, type: creating|updating|deleting|reading|...}.
pending=$(jq -r '.deployment.pending_operations // [] | .[] | "\(.type) \(.resource.urn)"' <<<"$state")
creates=$(grep '^creating ' <<<"$pending" || true)

# describe_creates prints, for each pending create, what to run or delete.
describe_creates() {
  local urn name kind live id
  while read -r _ urn; do
    name=$(jq -r --arg u "$urn" '[.deployment.pending_operations[] | select(.type == "creating" and .resource.urn == $u)][0].resource
      | .inputs.name // .inputs.metadata.name // .inputs.tags.Name // ""' <<<"$state")
    kind=$(jq -r --arg u "$urn" '[.deployment.pending_operations[] | select(.type == "creating" and .resource.urn == $u)][0].resource.type' <<<"$state")
    # The URNs the state already holds: a create of one of them was a
    # replacement, whose half-made object is deleted, never imported.
    live=$(jq -r --arg u "$urn" '[.deployment.resources // [] | .[] | select(.urn == $u and (.delete | not))][0].id // empty' <<<"$state")
    if [[ -n "$live" ]]; then
      echo "  $urn: a replacement. Its new object, ${name:-whose name the state did not record (the newest $kind)}: delete it if it exists (not import). The live one, ID $live: keep."
      continue
    fi
    if [[ "$mode" == after-destroy ]]; then
      where="in the cluster, gone with it if the cluster was destroyed"
      [[ "$kind" == kubernetes:* ]] || where="on AWS, tagged stack=$stack project=$project"
      echo "  $urn: ${name:-its name not recorded} ($kind): delete it if it exists ($where)"
      continue
    fi
    # A Kubernetes object's ID is namespace/name; any other resource's is its
    # cloud ID, which only the console or CLI can tell.
    id='<ID>'
    ns=$(jq -r --arg u "$urn" '[.deployment.pending_operations[] | select(.type == "creating" and .resource.urn == $u)][0].resource.inputs.metadata.namespace // ""' <<<"$state")
    if [[ "$kind" == kubernetes:* && -n "$ns" && -n "$name" ]]; then id=$(printf '%q' "$ns/$name"); fi
    echo "  $urn (${name:-its name not recorded}): if it exists, import it with the next line (its ID: $([[ "$id" == '<ID>' ]] && echo "its AWS ID, replacing <ID>" || echo "$ns/$name"))"
    # --import-pending-creates is a string array taking URN and ID as two
    # occurrences; refresh takes no argument (pulumi
    # pkg/cmd/pulumi/operations/refresh.go, pendingCreatesToImports).
    printf 'import-command: pulumi refresh --stack %q --yes --import-pending-creates %q --import-pending-creates %s\n' "$stack" "$urn" "$id"
  done <<<"$creates"
}

if [[ "$mode" == after-destroy ]]; then
  if [[ -z "$left" && -z "$creates" ]]; then
    echo "Stack $stack: the destroy left nothing in the state."
    exit 0
  fi
  echo "::error::Stack $stack: what the destroy left, still billed if it exists:"
  if [[ -n "$left" ]]; then
    echo "Resources still in the state (run the destroy again, or see its error above):"
    echo "$left"
  fi
  if [[ -n "$creates" ]]; then
    echo "Creates an interrupted update left pending; the destroy cannot see them:"
    describe_creates
    printf 'clear-command: pulumi refresh --stack %q --yes --clear-pending-creates\n' "$stack"
  fi
  echo "To find them on AWS: aws resourcegroupstaggingapi get-resources --tag-filters Key=stack,Values=$stack Key=project,Values=$project (the results bucket stays by design)."
  exit 1
fi

if [[ -z "$pending" ]]; then
  echo "Stack $stack: no interrupted operations."
  exit 0
fi
printf 'Stack %s holds operations an interrupted update left running:\n%s\n' "$stack" "$pending"

if [[ -n "$creates" && "$mode" == destroy ]]; then
  echo "::warning::Stack $stack: an interrupted update was creating resources that may exist; the destroy goes on and keeps them pending, and the step after it lists them."
  exit 0
fi
if [[ -n "$creates" ]]; then
  echo "::error::Stack $stack: an interrupted update was creating resources that may or may not exist. For each one below, look in AWS (or kubectl for a Kubernetes object); then, on a machine logged in to the backend, run the import-command line of each that exists and the clear-command line for the rest (docs/recovery.md):"
  describe_creates
  printf 'clear-command: pulumi refresh --stack %q --yes --clear-pending-creates\n' "$stack"
  echo "Then run this workflow again."
  exit 1
fi

if [[ "$mode" == up ]]; then
  echo "No pending create: the up's refresh reads the real state and clears them."
else
  echo "No pending create: the destroy deletes what the state holds (Pulumi warns of the pending operations)."
fi
