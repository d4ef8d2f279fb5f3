#!/usr/bin/env bash
# Decides whether a commit of main is to be deployed: it is when any of the
# deploy chain's environments lacks a deployable change the commit holds,
# counted from the last commit that environment deployed successfully, not
# from the previous push. A push whose run was cancelled, whose tests failed
# or whose deploy waited for a reviewer and was replaced leaves its change
# undeployed; the next green commit then carries it.
#
#   deployable-changes.sh SHA ENVIRONMENT...
#   deployable-changes.sh --guard SHA ENVIRONMENT
#
# --guard is the first step of a deploy job, run inside the stack's
# concurrency group: deploy=false when the environment already runs a
# commit newer than SHA (a later push's deploy finished while this one
# waited), so an older run never rolls it back.
#
# Writes deploy=true|false to $GITHUB_OUTPUT (stdout when unset) and says why
# on stdout. Exit 0, or 2 when the arguments are wrong.
#
# The last successful deploy of an environment comes from GitHub's
# deployments, which Actions records for every job with an `environment:`
# (REST "List deployments", sorted here newest first by id, and "List
# deployment statuses", newest first; a status's state is one of error,
# failure, inactive, in_progress, queued, pending, success; a newer
# successful deployment may mark older ones inactive). Load tests,
# campaigns, destroys and the reaper use the environments too, so only a
# deployment whose status carries deploy.yml's environment URL, ending in
# #pulumi-up and set only once its `pulumi up` succeeded (a job's
# environment.url is the statuses' environment_url: GitHub's workflow
# syntax, jobs.<job_id>.environment), counts as deployed.
# Needs `gh` with a token allowed `deployments: read`.
set -euo pipefail

guard=false
if [[ "${1:-}" == --guard ]]; then
  guard=true
  shift
fi
if (($# < 2)) || { $guard && (($# != 2)); }; then
  echo "usage: $0 SHA ENVIRONMENT... | $0 --guard SHA ENVIRONMENT" >&2
  exit 2
fi
sha=$1
shift
out=${GITHUB_OUTPUT:-/dev/stdout}
# What a deploy deploys: the program, its config and the locustfiles.
# README, docs, workflow and test edits deploy nothing. The program's own
# packages are those `go list -deps .` names (a test in stackconfig keeps
# this list in step with it).
paths=(main.go go.mod go.sum 'Pulumi.yaml' 'Pulumi.*.yaml' components stackconfig internal/stackexpiry locustfiles)

# last_deployed ENVIRONMENT prints the commit of its newest deployment that
# a successful pulumi up of deploy.yml marked, or nothing. Any of its
# statuses counts, not only the newest: a later successful job in the
# environment (a load test, a reap) adds an "inactive" status on top of it
# (REST "Create a deployment status": auto_inactive, default true, marks
# earlier successful deployments of the environment inactive).
last_deployed() {
  local id commit state list
  # "List deployments" answers newest first; --paginate runs --jq on each
  # page (cli/cli pkg/cmd/api), so the sort only orders within a page. A
  # failed call stops the script: an empty answer would read as "never
  # deployed" and deploy, an older commit included.
  if ! list=$(gh api "repos/$GITHUB_REPOSITORY/deployments?environment=$1&per_page=100" --jq 'sort_by(-.id) | .[] | "\(.id) \(.sha)"' --paginate); then
    echo "::error::listing the deployments of $1 failed (above); not deciding" >&2
    exit 1
  fi
  while read -r id commit; do
    [[ -n "$id" ]] || continue
    state=$(gh api "repos/$GITHUB_REPOSITORY/deployments/$id/statuses?per_page=100" \
      --jq 'if any(.[]; .state == "success" and (.environment_url // "" | endswith("#pulumi-up"))) then "deployed" else "not a deploy" end') || {
      echo "::error::reading the statuses of deployment $id failed (above); not deciding" >&2
      exit 1
    }
    if [[ "$state" == deployed ]]; then
      echo "$commit"
      return
    fi
  done <<<"$list"
}

if $guard; then
  env=$1
  base=$(last_deployed "$env")
  if [[ -n "$base" && "$base" != "$sha" ]] && git cat-file -e "$base^{commit}" 2>/dev/null &&
    git merge-base --is-ancestor "$sha" "$base"; then
    echo "$env: $base, newer than $sha, was deployed while this run waited; not rolling it back"
    echo "deploy=false" >>"$out"
  else
    echo "$env: deploying $sha (last deployed: ${base:-none})"
    echo "deploy=true" >>"$out"
  fi
  exit 0
fi

deploy=false
for env in "$@"; do
  base=$(last_deployed "$env")
  if [[ -z "$base" ]]; then
    echo "$env: no successful deploy recorded; deploying"
    deploy=true
    continue
  fi
  if [[ "$base" == "$sha" ]]; then
    echo "$env: $sha is already deployed"
    continue
  fi
  if ! git cat-file -e "$base^{commit}" 2>/dev/null || ! git merge-base --is-ancestor "$base" "$sha"; then
    if git cat-file -e "$base^{commit}" 2>/dev/null && git merge-base --is-ancestor "$sha" "$base"; then
      # An older run finishing late must not roll back what a newer one deployed.
      echo "$env: $base, newer than $sha, is already deployed; nothing to deploy"
      echo "deploy=false" >>"$out"
      exit 0
    fi
    echo "$env: the last deployed commit $base is not in $sha's history (rewritten history?); deploying"
    deploy=true
    continue
  fi
  changed=$(git diff --name-only "$base" "$sha" -- "${paths[@]}")
  if [[ -n "$changed" ]]; then
    printf '%s: deployable changes since %s:\n%s\n' "$env" "$base" "$changed"
    deploy=true
  else
    echo "$env: no change to the program, its config or a locustfile since $base"
  fi
done
echo "deploy=$deploy" >>"$out"
