#!/usr/bin/python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""request-log-metrics: today's token total against the budget, for Prometheus.

    request-log-metrics --usage-log PATH [--log PATH]... [--budget N]
                        [--metrics-dir DIR] [--textfile NAME]

Sums today's (UTC) tokens from the harness's token-usage log and its rotated
files (logic and line format: module_utils/fleet/request_log.py) and writes
``<metrics-dir>/<textfile>.prom`` atomically for node_exporter's textfile
collector (fleet.metrics): golden_state_request_log_tokens_today,
golden_state_request_log_token_budget (left out when the budget is 0: no
budget), the usage lines counted, the malformed lines skipped, files that
could not be read, and the bytes and file count of each log (``--log``, the
usage log included), labelled with the log's file name.

Run by request-log-metrics.timer (the request_log role). A console script of
the fleet package, installed by the base role and linked into fleet_sbin_dir.

Exit status: 0 ok (also when lines were malformed or a file was unreadable:
the metrics say so), 1 the textfile could not be written, 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from fleet import request_log
from fleet.metrics import TEXTFILE_NAME, Family, write_textfile
from fleet_cli.cli_common import add_version_argument, non_negative_int, positive_int

PROG = "request-log-metrics"
DEFAULT_METRICS_DIR = "/var/lib/prometheus/node-exporter"
DEFAULT_TEXTFILE = "golden_state_request_log"
PREFIX = "golden_state_request_log"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_version_argument(parser)
    parser.add_argument("--usage-log", required=True,
                        help="the token-usage log (JSON lines); its rotated files are read too")
    parser.add_argument("--log", action="append", default=[],
                        help="another log whose size is exported (repeatable)")
    parser.add_argument("--budget", type=non_negative_int, default=0,
                        help="daily token budget; 0: none (the budget metric is left out)")
    parser.add_argument("--metrics-dir", default=DEFAULT_METRICS_DIR,
                        help=f"node_exporter's textfile directory (default {DEFAULT_METRICS_DIR})")
    parser.add_argument("--textfile", default=DEFAULT_TEXTFILE,
                        help=f"name of the .prom file, without suffix (default {DEFAULT_TEXTFILE})")
    parser.add_argument("--max-line-bytes", type=positive_int, default=request_log.MAX_LINE_BYTES,
                        help="longer lines are malformed (default %(default)s)")
    args = parser.parse_args(argv)
    if not TEXTFILE_NAME.match(args.textfile):
        parser.error(f"--textfile {args.textfile!r}: letters, digits, - and _ only")
    logs = [args.usage_log] + [path for path in args.log if path != args.usage_log]
    names = [os.path.basename(path) for path in logs]
    if len(set(names)) != len(names):
        parser.error(f"two logs share a file name ({', '.join(names)}): the label would clash")
    args.logs = logs
    return args


def families(totals: request_log.Totals, budget: int, sizes: dict[str, tuple[int, int]],
             now: float) -> list[Family]:
    """The metric families of one run (sizes: log file name -> (files, bytes))."""
    tokens = Family(f"{PREFIX}_tokens_today",
                    "Tokens the harness used so far today (UTC day), from its token-usage log.")
    budget_family = Family(f"{PREFIX}_token_budget",
                           "Daily token budget the harness should stay under (absent: none).")
    lines = Family(f"{PREFIX}_usage_lines_today", "Token-usage lines counted today (UTC day).")
    malformed = Family(f"{PREFIX}_malformed_lines",
                       "Lines skipped as malformed in the usage log files read for today.")
    errors = Family(f"{PREFIX}_read_errors",
                    "Usage log files that could not be read (fully) in the last run.")
    size = Family(f"{PREFIX}_bytes", "Bytes on disk of a log, its rotated files included.")
    files = Family(f"{PREFIX}_files", "Files of a log on disk: the live file and rotated ones.")
    last = Family(f"{PREFIX}_last_run_timestamp_seconds",
                  "When request-log-metrics last computed these values (Unix seconds).")
    tokens.add(totals.tokens)
    if budget > 0:
        budget_family.add(budget)
    lines.add(totals.lines)
    malformed.add(totals.malformed)
    errors.add(len(totals.errors))
    for name, (count, total) in sorted(sizes.items()):
        size.add(total, log=name)
        files.add(count, log=name)
    last.add(round(now, 3))
    return [tokens, budget_family, lines, malformed, errors, size, files, last]


def main(argv: list[str] | None = None, clock: Callable[[], float] = time.time) -> int:
    args = parse_args(argv)
    now = clock()
    totals = request_log.totals_for_day(args.usage_log, now, args.max_line_bytes)
    sizes = {os.path.basename(path): request_log.disk_usage(path) for path in args.logs}
    for problem in totals.errors:
        print(f"{PROG}: warning: {problem}", file=sys.stderr)
    try:
        path = write_textfile(args.metrics_dir, args.textfile,
                              families(totals, args.budget, sizes, now))
    except (OSError, ValueError) as error:
        print(f"{PROG}: error: cannot write the metrics into {args.metrics_dir}: {error}",
              file=sys.stderr)
        return 1
    day = time.strftime("%Y-%m-%d", time.gmtime(totals.day_start))
    budget = f"of {args.budget} " if args.budget else ""
    print(f"{PROG}: {totals.tokens} tokens {budget}on {day} (UTC) in {totals.lines} lines "
          f"from {totals.files_read} file(s), {totals.malformed} malformed; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
