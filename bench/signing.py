# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark signing and verifying NIP-01 signature events.

    .venv/bin/python bench/signing.py [--events 10000]

Signs N kind-1063 events over distinct artifacts, then verifies every one in
full (id recomputed from the fields + BIP340 signature), then runs the trust
policy over them. Target: >= 5,000 verified events/s.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "module_utils"))
sys.path.insert(0, str(ROOT))

from fleet import signing as fs  # noqa: E402

from bench.results import add_results_argument, record  # noqa: E402

TARGET_VERIFY_RATE = 5_000


def _timed(label: str, count: int, func) -> tuple[str, int, float]:
    start = time.perf_counter()
    func()
    return label, count, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    add_results_argument(parser)
    args = parser.parse_args(argv)
    count = args.events

    key = fs.generate_secret_key()
    trusted = [{"name": "bench", "pubkey": fs.public_key_hex(key)}]
    artifacts = [hashlib.sha256(i.to_bytes(8, "big")).digest() * 4 for i in range(count)]
    events: list[dict] = []
    rows = []

    rows.append(_timed("sign (sign_artifact)", count, lambda: events.extend(
        fs.sign_artifact(a, key, name="artifact.bin", created_at=1_700_000_000)
        for a in artifacts)))

    results: list[tuple[bool, str]] = []
    rows.append(_timed("verify (verify_event: id + sig)", count, lambda: results.extend(
        fs.verify_event(e) for e in events)))
    if not all(ok for ok, _ in results):
        print("error: a signed event did not verify", file=sys.stderr)
        return 1

    policies = []
    rows.append(_timed("policy (verify_policy, 1 event)", count, lambda: policies.extend(
        fs.verify_policy(a, [e], trusted) for a, e in zip(artifacts, events, strict=True))))
    if not all(p.accepted for p in policies):
        print("error: the policy rejected a valid event", file=sys.stderr)
        return 1

    print(f"{'operation':<34} {'events':>8} {'seconds':>9} {'events/s':>10}")
    print("-" * 64)
    for label, n, seconds in rows:
        print(f"{label:<34} {n:>8} {seconds:>9.3f} {n / seconds:>10,.0f}")
    verify_rate = rows[1][1] / rows[1][2]
    verdict = "meets" if verify_rate >= TARGET_VERIFY_RATE else "MISSES"
    record(args.results, "signing", "BIP340 events verified per second", verify_rate, "/s",
           f">= {TARGET_VERIFY_RATE:,}", verify_rate >= TARGET_VERIFY_RATE)
    print(f"\nverify {verdict} the target of {TARGET_VERIFY_RATE:,} events/s")
    return 0 if verify_rate >= TARGET_VERIFY_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
