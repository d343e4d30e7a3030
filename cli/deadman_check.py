#!/usr/bin/python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""deadman-check: act on a stale harness heartbeat in bounded steps.

Run by deadman-check.timer. Each run: heartbeat fresh -> nothing (and, once per
healthy period, mark the config known-good); stale -> restart the harness (at
most max_restarts per window), then roll back to known-good and restart once
more, then raise the deadman_active flag, alert and stop acting until
``deadman-check --clear`` (or a converge) lowers the flag. When the overlay
tool refuses the rollback (exit status 3: the known-good snapshot is judged
unusable under today's policy), nothing is restarted for it: the flag goes up
at once, and the history and the alert carry the tool's reasons.

Exit status: 0 ok (also when another instance holds the lock), 1 bad
configuration or unexpected I/O error, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys

from fleet import deadman as fleet_deadman
from fleet_cli.cli_common import add_version_argument

DEFAULT_CONFIG = "/etc/golden-state/deadman.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deadman-check", description=__doc__.split("\n\n")[0])
    add_version_argument(parser)
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--status", action="store_true", help="print a human-readable summary")
    mode.add_argument("--clear", action="store_true",
                      help="lower the deadman_active flag and reset the restart budget")
    parser.add_argument("--reason", default="cleared by an operator",
                        help="why the flag is cleared (recorded in the history)")
    parser.add_argument("--json", action="store_true", help="with --status: print JSON")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="say what was seen even when nothing was done")
    return parser.parse_args(argv)


def _age(age: float | None) -> str:
    return "missing" if age is None else f"{age:.1f} s"


def print_status(status: dict) -> None:
    print(f"heartbeat      {status['heartbeat']}: age {_age(status['age'])} "
          f"(stale after {status['stale_after']:g} s)")
    print(f"deadman flag   {'ACTIVE: ' + status['flag'] if status['flag'] else 'not set'}")
    print(f"phase          {status['phase']}")
    print(f"restarts       {status['restarts_in_window']} of {status['max_restarts']} "
          f"in the last {status['window']:g} s")
    if status["state_error"]:
        print(f"state file     unreadable: {status['state_error']} (the next check replaces it)")
    print("recent events:" if status["history"] else "recent events: none")
    for entry in status["history"]:
        when, event = entry.get("time", "?"), entry.get("event", "?")
        print(f"  {when}  {event:<16} {entry.get('reason', '')}")


def main(argv: list[str] | None = None, deadman_factory=fleet_deadman.Deadman) -> int:
    args = parse_args(argv)
    try:
        config = fleet_deadman.load_config(args.config)
    except fleet_deadman.ConfigError as error:
        print(f"deadman-check: {error}", file=sys.stderr)
        return 1
    deadman = deadman_factory(config)
    try:
        if args.status:
            status = deadman.status()
            if args.json:
                print(json.dumps(status, indent=1, sort_keys=True))
            else:
                print_status(status)
            return 0
        if args.clear:
            with deadman.lock(wait=30):
                was_set = deadman.clear(args.reason)
            print("deadman-check: flag cleared" if was_set else "deadman-check: no flag was set")
            return 0
        with deadman.lock():
            result = deadman.check()
    except fleet_deadman.LockBusy:
        print("deadman-check: another deadman-check is running; leaving it to that one",
              file=sys.stderr)
        return 0
    except OSError as error:
        print(f"deadman-check: {error}", file=sys.stderr)
        return 1
    if result.messages or args.verbose:
        print(f"deadman-check: heartbeat {_age(result.age)}, {result.status}"
              f"{': ' + '; '.join(result.messages) if result.messages else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
