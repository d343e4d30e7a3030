# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every bench, one after the other, and print one table of targets (`make bench`).

    .venv/bin/python bench/run_all.py [--skip NAME ...] [--only NAME ...]

Each bench prints its own table as it runs; their figures are collected
through ``--results`` (bench/results.py) into .cache/bench/results.jsonl and
shown together at the end, each target with its verdict. Benches run one at a
time: the converge, webhook and fan-out benches start podman hosts and would
skew each other's figures. Exit status 1 when a bench itself failed to run; a
missed target is reported in the table, not as a failure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import load, table  # noqa: E402

# name -> arguments after the script; the order is cheapest first.
BENCHES = {
    "signing": ["bench/signing.py"],
    "trail": ["bench/trail_verify.py"],
    "provider-scan": ["bench/provider_scan.py"],
    "converge": ["bench/site_converge.py", "--profile"],
    "webhook": ["bench/webhook_latency.py"],
    "fanout": ["bench/fleet_fanout.py"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=BENCHES, metavar="NAME",
                        help=f"run only these ({', '.join(BENCHES)})")
    parser.add_argument("--skip", nargs="+", choices=BENCHES, default=[], metavar="NAME")
    parser.add_argument("--results", type=Path, default=ROOT / ".cache/bench/results.jsonl")
    args = parser.parse_args()

    chosen = [name for name in (args.only or BENCHES) if name not in args.skip]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.unlink(missing_ok=True)
    failed, took = [], {}
    for name in chosen:
        print(f"\n=== bench: {name} ===", flush=True)
        start = time.monotonic()
        done = subprocess.run([sys.executable, *BENCHES[name], "--results", str(args.results)],
                              cwd=ROOT, check=False)
        took[name] = time.monotonic() - start
        if done.returncode != 0:
            failed.append(f"{name} (exit {done.returncode})")

    rows = load(args.results)
    print("\n=== all benches ===")
    print(table(rows))
    met = sum(row["met"] is True for row in rows)
    missed = sum(row["met"] is False for row in rows)
    times = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items())
    print(f"\n{met} targets met, {missed} missed; bench run times: {times}")
    if failed:
        print("benches that failed to run: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
