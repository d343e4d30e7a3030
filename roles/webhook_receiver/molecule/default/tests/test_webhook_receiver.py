"""The receiver as a real HTTP exchange on loopback, through the published port.

Every refused request carries its own delivery id; at the end one valid push
is sent and awaited, and the history must contain none of the refused ids
(runs are coalesced, so the valid one proves the runner had its chance).
Tests wait for their own delivery ids, or (the timer) for earlier runs to end,
so none depends on what ran before it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import ssl
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest

from tests.testinfra_helpers import exposure, wait_for

URL = "https://127.0.0.1:19080/hooks/golden-state-pull"
STATE = "/var/lib/golden-state/pull"
HISTORY = f"{STATE}/history.jsonl"
SPOOL = f"{STATE}/spool"
RUNNER_UNITS = ("golden-state-pull.service", "golden-state-pull-reconcile.service")
MAX_BODY = 65536


@pytest.fixture(scope="module")
def secret() -> bytes:
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "webhook-secret")
    with open(path, encoding="utf-8") as handle:
        return handle.read().split()[0].encode()


def tls_context() -> ssl.SSLContext:
    """Trusts only the scenario's throwaway certificate (converge.yml made it)."""
    cafile = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "tls.crt")
    return ssl.create_default_context(cafile=cafile)


def sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def push_body(ref: str = "refs/heads/main", pad: int = 0) -> bytes:
    payload = {"ref": ref, "after": "0" * 40, "repository": {"full_name": "fleet/golden-state"}}
    if pad:
        payload["pad"] = "x" * pad
    return json.dumps(payload).encode()


def post(body: bytes, headers: dict[str, str], method: str = "POST") -> int:
    request = urllib.request.Request(URL, data=body if method == "POST" else None,
                                     headers={"Content-Type": "application/json", **headers},
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=10,  # noqa: S310 (fixed https URL)
                                    context=tls_context()) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def gitea(secret: bytes, body: bytes, delivery: str, **over: str) -> dict[str, str]:
    headers = {"X-Gitea-Event": "push", "X-Gitea-Delivery": delivery,
               "X-Gitea-Signature": sign(secret, body)}
    headers.update(over)
    return {k: v for k, v in headers.items() if v is not None}


def github(secret: bytes, body: bytes, delivery: str, **over: str) -> dict[str, str]:
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
               "X-Hub-Signature-256": "sha256=" + sign(secret, body)}
    headers.update(over)
    return {k: v for k, v in headers.items() if v is not None}


def history(host) -> list[dict]:
    out = host.run(f"cat {HISTORY} 2>/dev/null").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wait_for_delivery(host, delivery: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # bounded: ~30 s, one read every 0.3 s
        for record in history(host):
            if delivery in record.get("deliveries", []):
                return record
        time.sleep(0.3)
    raise AssertionError(f"delivery {delivery} not in {HISTORY} after {timeout} s")


def new_id() -> str:
    return str(uuid.uuid4())


def started(record: dict) -> float:
    return datetime.strptime(record["start"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=UTC).timestamp()


def runner_quiet(host) -> bool:
    """No runner unit active, no trigger queued, no pending request left by a busy runner."""
    states = host.check_output(f"systemctl show -p ActiveState --value {' '.join(RUNNER_UNITS)}")
    return all(state in ("inactive", "failed") for state in states.split()) \
        and host.run(f"ls -A {SPOOL}").stdout.strip() == "" \
        and not host.file(f"{STATE}/pending").exists


def test_receiver_runs_as_its_own_unprivileged_user(host):
    service = host.service("golden-state-webhook")
    assert service.is_running
    assert service.is_enabled
    pid = host.run("systemctl show -p MainPID --value golden-state-webhook").stdout.strip()
    assert host.run(f"ps -o user= -p {pid}").stdout.strip() == "golden-state-webhook"
    assert host.socket("tcp://0.0.0.0:19080").is_listening


def test_internet_facing_unit_is_sandboxed(host):
    # issue 16: the receiver is what the internet reaches; 8.3 before hardening.
    assert exposure(host, "golden-state-webhook.service") <= 2.0


def test_secret_is_not_world_readable(host, secret):
    hooks = host.file("/etc/golden-state/webhook/hooks.yaml")
    assert (hooks.user, hooks.group, hooks.mode) == ("root", "golden-state-webhook", 0o640)
    assert hooks.contains(secret.decode())
    places = "/etc /var/lib/golden-state /usr/local"
    leaked = host.run(f"grep -rl {secret.decode()} {places} 2>/dev/null")
    assert leaked.stdout.split() == ["/etc/golden-state/webhook/hooks.yaml"]


def test_runner_units_are_installed(host):
    assert host.service("golden-state-pull.path").is_running
    assert host.file("/usr/local/sbin/golden-state-pull").linked_to == \
        "/opt/golden-state/venv/bin/golden-state-pull"
    spool = host.file("/var/lib/golden-state/pull/spool")
    assert (spool.user, spool.mode) == ("golden-state-webhook", 0o750)


@pytest.mark.parametrize("forge", ["gitea", "github"])
def test_valid_push_is_accepted_and_runs_once(host, secret, forge):
    body, delivery = push_body(), new_id()
    headers = (gitea if forge == "gitea" else github)(secret, body, delivery)
    started = time.monotonic()
    assert post(body, headers) == 202
    assert time.monotonic() - started < 2, "the receiver must answer at once"
    record = wait_for_delivery(host, delivery)
    assert record["trigger"] == "webhook"
    assert record["status"] == "ok"
    assert (record["ok"], record["changed"], record["failed"]) == (2, 1, 0)


def refused_requests(secret: bytes):
    """(name, body, headers-builder, method) for every request that must be refused."""
    body = push_body()
    good = sign(secret, body)
    tag = push_body("refs/tags/v1.0")
    other = push_body("refs/heads/feature")
    big = push_body(pad=MAX_BODY)
    empty = b""
    gsig, hsig = "X-Gitea-Signature", "X-Hub-Signature-256"
    return [
        ("missing signature", body, lambda d: gitea(secret, body, d, **{gsig: None})),
        ("missing github signature", body,
         lambda d: github(secret, body, d, **{hsig: None})),
        ("wrong signature", body, lambda d: gitea(secret, body, d, **{gsig: "0" * 64})),
        ("truncated signature", body, lambda d: gitea(secret, body, d, **{gsig: good[:32]})),
        ("uppercase hex", body, lambda d: gitea(secret, body, d, **{gsig: good.upper()})),
        ("uppercase prefix", body,
         lambda d: github(secret, body, d, **{hsig: "SHA256=" + good})),
        ("wrong secret", body, lambda d: gitea(b"not-the-secret", body, d)),
        ("signature of another body", body,
         lambda d: gitea(secret, body, d, **{gsig: sign(secret, other)})),
        ("wrong ref", other, lambda d: gitea(secret, other, d)),
        ("tag push", tag, lambda d: github(secret, tag, d)),
        ("non-push gitea event", body,
         lambda d: gitea(secret, body, d, **{"X-Gitea-Event": "issues"})),
        ("non-push github event", body,
         lambda d: github(secret, body, d, **{"X-GitHub-Event": "ping"})),
        ("event of one forge, signature of the other", body,
         lambda d: {"X-GitHub-Event": "push", "X-GitHub-Delivery": d, "X-Gitea-Signature": good}),
        ("oversized body", big, lambda d: gitea(secret, big, d)),
        ("empty body", empty, lambda d: gitea(secret, empty, d)),
        ("not JSON", b"ref=refs/heads/main", lambda d: gitea(secret, b"ref=refs/heads/main", d)),
    ]


def test_everything_else_is_refused_and_runs_nothing(host, secret):
    refused = {}
    for name, body, build in refused_requests(secret):
        delivery = new_id()
        refused[delivery] = name
        status = post(body, build(delivery))
        assert 400 <= status < 500, f"{name}: got {status}"

    # A valid push after all of them: once it is recorded, the runner has drained the spool.
    body, valid = push_body(), new_id()
    assert post(body, gitea(secret, body, valid)) == 202
    wait_for_delivery(host, valid)
    recorded = {d for record in history(host) for d in record.get("deliveries", [])}
    assert not recorded & set(refused), [refused[d] for d in recorded & set(refused)]

    journal = host.run("journalctl -u golden-state-webhook --no-pager -o cat").stdout
    assert journal.count("trigger rules were not satisfied") >= len(refused)


def test_pause_is_honoured_and_recorded(host, secret):
    assert host.run("golden-state-pull pause 'molecule: testing pause'").rc == 0
    try:
        body, delivery = push_body(), new_id()
        assert post(body, github(secret, body, delivery)) == 202
        record = wait_for_delivery(host, delivery)
        assert record["status"] == "paused"
        assert record["paused"]["reason"] == "molecule: testing pause"
        assert record["exit_status"] is None
    finally:
        assert host.run("golden-state-pull resume").rc == 0
    status = json.loads(host.check_output("golden-state-pull status --json"))
    assert status["paused"] is None
    assert status["last_run"]["delivery"] == delivery


def test_reconcile_timer_runs_the_same_runner(host):
    timer = host.service("golden-state-pull-reconcile.timer")
    assert timer.is_enabled and timer.is_running
    delay = host.check_output("systemctl show -p RandomizedDelayUSec --value "
                              "golden-state-pull-reconcile.timer")
    assert delay == "10min"
    # Earlier tests' runs over (a busy runner would only take a pending mark from this one).
    assert wait_for(lambda: runner_quiet(host), timeout=60), "the runner did not settle in 60 s"
    since = float(host.check_output("date +%s.%N"))
    assert host.run("systemctl start golden-state-pull-reconcile.service").rc == 0  # oneshot: waits
    runs = [r for r in history(host) if started(r) >= since]
    assert [r["trigger"] for r in runs] == ["timer"]
    assert runs[0]["status"] == "ok"


def test_get_is_refused(host):
    assert post(b"", {}, method="GET") == 405


def test_tls_key_is_root_only_and_plain_http_is_refused(host):
    key = host.file("/etc/golden-state/webhook/tls.key")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    assert "-secure" in host.file("/etc/systemd/system/golden-state-webhook.service").content_string
    # Plain HTTP to the TLS port: Go's server answers 400, and nothing runs.
    plain = urllib.request.Request(URL.replace("https://", "http://"),  # noqa: S310
                                   data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(plain, timeout=10)  # noqa: S310 (fixed http URL)
    assert refused.value.code == 400
