#!/usr/bin/env bash
# Checks the deployment examples as far as this machine allows: the Kubernetes manifests
# parse as YAML with the kinds and fields the docs rely on (no cluster here, so no server-side
# validation); the systemd unit passes `systemd-analyze verify` (syntax) when available.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check pyyaml 2>/dev/null || python3 -m pip install --quiet --break-system-packages pyyaml
python3 - <<'PY'
import yaml
docs = [d for d in yaml.safe_load_all(open("deploy/kubernetes/runner.yaml")) if d]
kinds = {d["kind"]: d for d in docs}
for k in ("ConfigMap", "Secret", "Service", "StatefulSet"):
    assert k in kinds, f"missing {k}"
sts = kinds["StatefulSet"]
c = sts["spec"]["template"]["spec"]["containers"][0]
env = {e["name"]: e for e in c["env"]}
assert env["RUNNER_SHARD_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert "/admin/drain" in " ".join(c["lifecycle"]["preStop"]["exec"]["command"])
assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
assert "RUNNER_ADMIN_TOKEN" in env, "a non-loopback admin address needs a token"
print("deploy/kubernetes/runner.yaml: ok")
PY
if command -v systemd-analyze >/dev/null 2>&1; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  cp deploy/systemd/runner@.service "$tmp/runner@shard-a.service"
  # Missing binaries and users on this machine are expected; unit syntax errors are not.
  out=$(systemd-analyze verify "$tmp/runner@shard-a.service" 2>&1 || true)
  if echo "$out" | grep -Ei "unknown (key|section)|invalid|failed to parse" ; then
    echo "systemd unit: $out"; exit 1
  fi
  echo "systemd-analyze verify: ok"
fi
