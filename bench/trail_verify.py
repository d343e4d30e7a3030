# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: verify a ~1 MiB trail beside plain SHA-256 over the same bytes.

Run: .venv/bin/python bench/trail_verify.py [--repeat N]
total_steps is 16-bit, so the largest trail has 65535 steps; the bench fills
~1 MiB with the maximum step count and a mix of opcodes.
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

from fleet.trail import compile_bytes  # noqa: E402
from fleet.trail_verify import verify_trail  # noqa: E402

from bench.results import add_results_argument, record  # noqa: E402

TARGET_SECONDS = 0.5

STEPS = 65535 - 2  # 16-bit total_steps, minus TRAIL_BEGIN and TRAIL_END


def build_worklog(steps: int = STEPS) -> list[dict]:
    entries: list[dict] = [{"op": "TRAIL_BEGIN", "agent": "bench-agent",
                            "trail_id": "bench-trail", "ts": 1_700_000_000}]
    for i in range(steps):
        kind = i % 6
        if kind == 0:
            entries.append({"op": "FILE_EDIT", "path": f"src/mod{i % 500}.py",
                            "old": f"value = {i}", "new": f"value = {i + 1}"})
        elif kind == 1:
            entries.append({"op": "FILE_READ", "path": f"src/mod{i % 500}.py"})
        elif kind == 2:
            entries.append({"op": "TEST_RUN", "path": f"tests/test_{i % 300}.py", "count": i % 50})
        elif kind == 3:
            entries.append({"op": "GIT_COMMIT", "repo": i % 7, "message": f"step {i}"})
        elif kind == 4:
            entries.append({"op": "TRUST_UPDATE", "target": f"agent-{i % 40}", "delta": -(i % 9)})
        else:
            entries.append({"op": "FILE_WRITE", "path": f"out/{i % 4000}.txt",
                            "content": f"c{i % 3000}"})
    entries.append({"op": "TRAIL_END", "status": "success"})
    return entries


def best_of(repeat: int, func) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="best of N runs (default 5)")
    add_results_argument(parser)
    args = parser.parse_args()
    data = compile_bytes(build_worklog())
    report = verify_trail(data)
    if not report.valid:
        print("benchmark trail is invalid:", report.lines()[:5], file=sys.stderr)
        return 1
    mib = len(data) / (1024 * 1024)
    rows = [("verify_trail", best_of(args.repeat, lambda: verify_trail(data))),
            ("hashlib.sha256", best_of(args.repeat, lambda: hashlib.sha256(data).digest()))]
    print(f"trail: {len(data)} bytes ({mib:.2f} MiB), {report.steps} steps, "
          f"{len(report.histogram)} opcodes; best of {args.repeat}")
    print(f"{'what':<16} {'time (s)':>10} {'MiB/s':>10} {'steps/s':>12}")
    for name, secs in rows:
        print(f"{name:<16} {secs:>10.4f} {mib / secs:>10.1f} {report.steps / secs:>12,.0f}")
    verify = rows[0][1]
    print(f"target < {TARGET_SECONDS} s: {'met' if verify < TARGET_SECONDS else 'MISSED'}")
    record(args.results, "trail", f"verify a {mib:.1f} MiB trail ({report.steps} steps)", verify,
           "s", f"< {TARGET_SECONDS} s", verify < TARGET_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
