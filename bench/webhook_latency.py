"""Webhook-to-converged latency for a one-file change, on a throwaway podman host.

For each delivery: commit a one-line change to the host's entry in the origin's
inventory, push it, send a signed push webhook to the host's receiver through
127.0.0.1, and wait (bounded) until the host's run history shows the commit
converged. The phases come from the run's history record (host clock; the
container shares the machine's kernel clock):

    receive      webhook sent            -> trigger queued by the receiver
    runner start trigger queued          -> runner started (.path unit, systemd, python)
    git fetch    runner started          -> ansible-pull's checkout step done
    playbook     checkout done           -> ansible-pull exited (the site playbook)
    total        webhook sent            -> converged

Usage: .venv/bin/python bench/webhook_latency.py [--deliveries 10] [--port 19082] [--keep]
Reuses tests/e2e/fleet_host.py (the end-to-end test's fixture).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "module_utils"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT))

from fleet.pull import parse_iso  # noqa: E402
from fleet_host import FleetHost  # noqa: E402  (found through the path set up above)

from bench.results import add_results_argument, record  # noqa: E402

PHASES = ("receive", "runner start", "git fetch", "playbook", "total")
TARGET_P50, TARGET_P95 = 7.0, 10.0  # issue 19


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def measure(host: FleetHost) -> dict[str, float]:
    commit = host.commit_marker("bench: one-file change")
    sent = time.time()
    status, delivery = host.send_push()
    if status != 202:
        raise RuntimeError(f"receiver answered {status}")
    record = host.wait_for_delivery(delivery, timeout=180)
    if record["status"] != "ok" or record["commit_after"] != commit:
        raise RuntimeError(f"run did not converge {commit}: {record}")
    received, start = parse_iso(record["received"]), parse_iso(record["start"])
    end = parse_iso(record["end"])
    fetched = parse_iso(record["fetched"]) if record.get("fetched") else start
    return {
        "receive": received - sent,
        "runner start": start - received,
        "git fetch": fetched - start,
        "playbook": end - fetched,
        "total": end - sent,
    }


def table(samples: list[dict[str, float]]) -> str:
    lines = [f"{'phase':<14}{'p50 s':>9}{'p95 s':>9}{'min s':>9}{'max s':>9}"]
    for phase in PHASES:
        values = [s[phase] for s in samples]
        lines.append(f"{phase:<14}{percentile(values, 50):>9.3f}{percentile(values, 95):>9.3f}"
                     f"{min(values):>9.3f}{max(values):>9.3f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10)
    parser.add_argument("--port", type=int, default=19082)
    parser.add_argument("--name", default="wizard-webhook_receiver-bench")
    parser.add_argument("--keep", action="store_true", help="keep the host afterwards")
    add_results_argument(parser)
    args = parser.parse_args()
    if args.deliveries < 1:
        parser.error("--deliveries must be at least 1")

    host = FleetHost(args.name, args.port)
    try:
        setup = time.monotonic()
        host.make_origin()
        host.start()
        host.provision()
        # Warm-up (not measured): the first pull clones the repository.
        measure(host)
        print(f"host ready and warmed up in {time.monotonic() - setup:.0f} s; "
              f"measuring {args.deliveries} deliveries", flush=True)
        samples = []
        for i in range(args.deliveries):
            samples.append(measure(host))
            print(f"  delivery {i + 1:>2}: total {samples[-1]['total']:.2f} s", flush=True)
    finally:
        if not args.keep:
            host.destroy()
    print()
    print(f"webhook-to-converged latency, one-file change, {len(samples)} deliveries")
    print(table(samples))
    totals = [s["total"] for s in samples]
    p50, p95 = percentile(totals, 50), percentile(totals, 95)
    print(f"\np50 total {p50:.2f} s (target < {TARGET_P50:.0f} s), "
          f"p95 {p95:.2f} s (target < {TARGET_P95:.0f} s)")
    for phase in ("git fetch", "playbook"):
        phase_p50 = percentile([s[phase] for s in samples], 50)
        record(args.results, "webhook", f"{phase}, p50", phase_p50, "s")
    record(args.results, "webhook", f"webhook -> converged p50 ({len(samples)} deliveries)", p50,
           "s", f"< {TARGET_P50:.0f} s", p50 < TARGET_P50)
    record(args.results, "webhook", "webhook -> converged p95", p95, "s", f"< {TARGET_P95:.0f} s",
           p95 < TARGET_P95)
    return 0


if __name__ == "__main__":
    sys.exit(main())
