# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One row format for every bench, so `make bench` can print one table.

A bench called with ``--results FILE`` appends one JSON line per figure:

    {"bench": "webhook", "figure": "webhook -> converged p50", "value": 6.1,
     "unit": "s", "target": "< 7 s", "met": true}

``met`` is None for figures shown for context (no target of their own).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_results_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", type=Path, metavar="FILE",
                        help="append each figure as a JSON line (read by bench/run-all)")


def record(path: Path | None, bench: str, figure: str, value: float, unit: str,
           target: str = "", met: bool | None = None) -> None:
    """Append one figure to `path` (nothing when the bench runs on its own)."""
    if path is None:
        return
    row = {"bench": bench, "figure": figure, "value": round(float(value), 3), "unit": unit,
           "target": target, "met": met}
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")


def load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "-"}[met]


def table(rows: list[dict]) -> str:
    """The figures as one aligned table, in the order they were recorded."""
    header = ("BENCH", "FIGURE", "VALUE", "TARGET", "VERDICT")
    body = [(r["bench"], r["figure"], f"{r['value']:g} {r['unit']}".strip(), r["target"] or "-",
             verdict(r["met"])) for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
             for line in [header, *body]]
    return "\n".join(line.rstrip() for line in lines)
