#!/usr/bin/python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden-state-pull: converge this host from its branch (pull on webhook).

    golden-state-pull run [--trigger webhook|timer|manual]  run now (one run per queue)
    golden-state-pull enqueue [DELIVERY-ID ...]            queue a trigger (the hook's command)
    golden-state-pull pause REASON | resume                stop / restart converging
    golden-state-pull status                               pause flag, lock, queue, last run
    golden-state-pull history [-n N]                       the last N runs, one JSON line each

A console script of the fleet package (logic: module_utils/fleet/pull.py),
installed by the base role into the pull agent's virtualenv and linked into
fleet_sbin_dir; the pull_agent role writes its configuration and units.
Exit status: 0 ok (or handed to the running runner), 1 the pull failed or bad
input, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from fleet import pull as fleet_pull

DEFAULT_CONFIG = "/etc/golden-state/pull.json"


def _echo(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()


def cmd_run(cfg: fleet_pull.PullConfig, args: argparse.Namespace) -> int:
    records = fleet_pull.run_pending(cfg, args.trigger, lambda c: fleet_pull.execute(c, _echo))
    if records is None:
        print(f"another run holds {cfg.lock_path}; it will take this request after its run")
        return 0
    for record in records:
        print("golden-state-pull: " + json.dumps(record, sort_keys=True))
    return 0 if all(r["status"] in ("ok", "paused") for r in records) else 1


def cmd_enqueue(cfg: fleet_pull.PullConfig, args: argparse.Namespace) -> int:
    # The hook passes both forges' delivery headers; the missing one arrives empty.
    delivery = next((d for d in args.delivery if d), None)
    path = fleet_pull.enqueue(cfg.spool_dir, args.source, delivery)
    print(f"queued {os.path.basename(path)} (delivery {delivery or '-'})")
    return 0


def cmd_pause(cfg: fleet_pull.PullConfig, args: argparse.Namespace) -> int:
    flag = fleet_pull.pause(cfg, " ".join(args.reason))
    print(f"paused since {flag['since']}: {flag['reason']}")
    return 0


def cmd_resume(cfg: fleet_pull.PullConfig, args: argparse.Namespace) -> int:
    print("resumed" if fleet_pull.resume(cfg) else "was not paused")
    return 0


def cmd_status(cfg: fleet_pull.PullConfig, args: argparse.Namespace) -> int:
    lock = fleet_pull.RunLock(cfg.lock_path)
    with lock.held() as free:
        running = not free
    last = fleet_pull.read_history(cfg, 1)
    print(json.dumps({
        "host": cfg.inventory_name,
        "paused": fleet_pull.read_pause(cfg),
        "running": running,
        "queued": fleet_pull.spool_has_triggers(cfg.spool_dir),
        "last_run": last[-1] if last else None,
    }, indent=2, sort_keys=True))
    return 0


def cmd_history(cfg: fleet_pull.PullConfig, args: argparse.Namespace) -> int:
    for record in fleet_pull.read_history(cfg, args.n):
        print(json.dumps(record, sort_keys=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="golden-state-pull", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=os.environ.get("GOLDEN_STATE_PULL_CONFIG",
                                                           DEFAULT_CONFIG))
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run ansible-pull now (one run for every queued trigger)")
    run.add_argument("--trigger", choices=fleet_pull.SOURCES, default="manual")
    run.set_defaults(func=cmd_run)
    enq = sub.add_parser("enqueue", help="queue a trigger for the runner")
    enq.add_argument("--source", choices=fleet_pull.SOURCES, default="webhook")
    enq.add_argument("delivery", nargs="*", default=[])
    enq.set_defaults(func=cmd_enqueue)
    pse = sub.add_parser("pause", help="stop converging this host until resumed")
    pse.add_argument("reason", nargs="+")
    pse.set_defaults(func=cmd_pause)
    sub.add_parser("resume", help="clear the pause flag").set_defaults(func=cmd_resume)
    sub.add_parser("status", help="pause flag, lock, queue, last run").set_defaults(func=cmd_status)
    hist = sub.add_parser("history", help="print the last runs as JSON lines")
    hist.add_argument("-n", type=int, default=20)
    hist.set_defaults(func=cmd_history)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = fleet_pull.load_config(args.config)
        return args.func(cfg, args)
    except (fleet_pull.ConfigError, ValueError) as exc:
        print(f"golden-state-pull: {exc}", file=sys.stderr)
        return 1
    except PermissionError as exc:
        print(f"golden-state-pull: {exc.filename or ''}: permission denied "
              f"(run as root, or as the webhook user for enqueue)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
