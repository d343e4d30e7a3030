#!/usr/bin/python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden-state-metrics: write this host's golden-state metrics for node_exporter.

Run by golden-state-metrics.timer (and by golden-state-metrics.path when the
pull history or the deadman's state changes). Each run reads the pull runner's
history and pause flag, the deadman's flag and state, the known-good overlay
snapshot and the harness unit's state, and replaces
<textfile_dir>/golden_state.prom atomically (logic: module_utils/fleet/host_metrics.py;
metric names: docs/metrics.md). A source that cannot be read is reported on
stderr and as golden_state_metrics_collector_errors{source=...} 1; the other
metrics are still written.

Exit status: 0 written (also with source errors), 1 bad configuration or the
textfile could not be written, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from fleet import host_metrics
from fleet.metrics import render, write_textfile
from fleet_cli.cli_common import add_version_argument

DEFAULT_CONFIG = "/etc/golden-state/metrics.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="golden-state-metrics",
        description="Write this host's golden-state metrics for node_exporter's textfile "
                    "collector.")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}")
    parser.add_argument("--stdout", action="store_true",
                        help="print the metrics instead of writing the textfile")
    add_version_argument(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, collect=host_metrics.collect) -> int:
    args = parse_args(argv)
    try:
        config = host_metrics.load_config(args.config)
    except host_metrics.ConfigError as error:
        print(f"golden-state-metrics: {error}", file=sys.stderr)
        return 1
    collection = collect(config)
    for message in collection.errors:
        print(f"golden-state-metrics: {message}", file=sys.stderr)
    families = collection.result()
    if args.stdout:
        sys.stdout.write(render(families))
        return 0
    try:
        write_textfile(config.textfile_dir, host_metrics.TEXTFILE, families)
    except OSError as error:
        print(f"golden-state-metrics: cannot write {config.textfile_dir}/"
              f"{host_metrics.TEXTFILE}.prom: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
