#!/usr/bin/env bash
# CI check for the Helm chart: lint, render with default and helm/ci/*-values.yaml values,
# validate every render against Kubernetes schemas offline (and its config.json against
# config/config.schema.json), and prove values.schema.json rejects the bad values files in
# test/helm/invalid-values/. Run from anywhere; every check runs, then a summary is printed and
# the exit status is non-zero if any check failed.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
helm=".tools/helm"
chart="helm"
release="clinical-ai-ci"
renders_dir="$(mktemp -d)"
trap 'rm -rf "$renders_dir"' EXIT
# ts-node without type checking: the scripts are type-checked by `npm run typecheck`.
ts_node=(node_modules/.bin/ts-node --transpile-only)

passed=()
failed=()
pass() { passed+=("$1"); echo "PASS $1"; }
fail() { failed+=("$1"); echo "FAIL $1" >&2; }

summary() {
  echo
  echo "helm-check summary: ${#passed[@]} passed, ${#failed[@]} failed"
  for f in "${failed[@]}"; do echo "  failed: $f"; done
  [[ ${#failed[@]} -eq 0 ]]
}

scripts/fetch-helm.sh || { fail "fetch helm"; summary; exit 1; }
"${ts_node[@]}" scripts/k8s-schemas/generate.ts || { fail "generate Kubernetes schemas"; summary; exit 1; }

values_files=("")
for f in "$chart"/ci/*-values.yaml; do values_files+=("$f"); done

render_files=()
for values in "${values_files[@]}"; do
  label="${values:-default values}"
  args=()
  [[ -n "$values" ]] && args=(-f "$values")
  if "$helm" lint --strict --quiet "$chart" "${args[@]}" >"$renders_dir/lint.log" 2>&1; then
    pass "helm lint --strict ($label)"
  else
    cat "$renders_dir/lint.log" >&2
    fail "helm lint --strict ($label)"
  fi
  out="$renders_dir/$(basename "${values:-default}" .yaml).rendered.yaml"
  if "$helm" template "$release" "$chart" "${args[@]}" >"$out" 2>"$renders_dir/template.log"; then
    pass "helm template ($label)"
    render_files+=("$out")
  else
    cat "$renders_dir/template.log" >&2
    fail "helm template ($label)"
  fi
done

if [[ ${#render_files[@]} -gt 0 ]]; then
  if "${ts_node[@]}" scripts/validate-manifests.ts --config-schema config/config.schema.json "${render_files[@]}"; then
    pass "Kubernetes and service config schema validation (${#render_files[@]} renders)"
  else
    fail "Kubernetes and service config schema validation"
  fi
fi

# Each bad values file must be refused by both lint and template, and by the values schema
# (not by some unrelated template error).
for bad in test/helm/invalid-values/*.yaml; do
  schema_message="values don't meet the specifications of the schema"
  if lint_out="$("$helm" lint --strict "$chart" -f "$bad" 2>&1)"; then
    fail "helm lint rejects $bad (it was accepted)"
  elif ! grep -q "$schema_message" <<<"$lint_out"; then
    echo "$lint_out" >&2
    fail "helm lint rejects $bad by the values schema"
  else
    pass "helm lint rejects $bad: $(grep -m1 -E '^- ' <<<"$lint_out")"
  fi
  if template_out="$("$helm" template "$release" "$chart" -f "$bad" 2>&1)"; then
    fail "helm template rejects $bad (it was accepted)"
  elif ! grep -q "$schema_message" <<<"$template_out"; then
    echo "$template_out" >&2
    fail "helm template rejects $bad by the values schema"
  else
    pass "helm template rejects $bad"
  fi
done

summary
