#!/usr/bin/python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden-state-pull: converge this host from its branch (pull on webhook).

    golden-state-pull run [--trigger webhook|timer|manual]  run now (one run per queue)
    golden-state-pull enqueue [DELIVERY-ID ...]            queue a trigger (the hook's command)
    golden-state-pull pause REASON | resume                stop / restart converging
    golden-state-pull status [--json]                      pause flag, lock, queue, last run
    golden-state-pull history [-n N] [--json]              the last N runs, a table (or JSON lines)
    golden-state-pull --version                            the installed package's version

A console script of the fleet package (logic: module_utils/fleet/pull.py),
installed by the base role into the pull agent's virtualenv and linked into
fleet_sbin_dir; the pull_agent role writes its configuration and units.
Exit status: 0 ok (or handed to the running runner), 1 the pull failed or bad
input, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import textwrap

from fleet import pull as fleet_pull
from fleet.text import printable
from fleet_cli.cli_common import add_version_argument, positive_int

DEFAULT_CONFIG = "/etc/golden-state/pull.json"
STATUS_WIDTH = 80
# history's fixed columns: (heading, width); REASON takes what the terminal has left.
HISTORY_COLUMNS = (("START (UTC)", 16), ("TRIGGER", 13), ("COMMIT", 7), ("RESULT", 11),
                   ("TIME", 6))
HISTORY_WIDTH = (80, 160)  # the table's narrowest and widest


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
    status = {
        "host": cfg.inventory_name,
        "paused": fleet_pull.read_pause(cfg),
        "running": running,
        "queued": fleet_pull.spool_has_triggers(cfg.spool_dir),
        "last_run": last[-1] if last else None,
        "last_success": fleet_pull.last_success(cfg),
    }
    if args.origin:
        status["origin"] = fleet_pull.origin_head(cfg)
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
    else:
        print(render_status(status, cfg.log_path), end="")
    return 0


def cmd_history(cfg: fleet_pull.PullConfig, args: argparse.Namespace) -> int:
    records = fleet_pull.read_history(cfg, args.n)
    if args.json:
        for record in records:
            print(json.dumps(record, sort_keys=True))
        return 0
    width = min(max(shutil.get_terminal_size((100, 24)).columns, HISTORY_WIDTH[0]),
                HISTORY_WIDTH[1])
    print(render_history(records, cfg.log_path, cfg.history_path, width), end="")
    return 0


# -- tables for people (plain text: no colours, control characters escaped) --

def _cell(value: object, width: int) -> str:
    return printable("-" if value is None or value == "" else str(value), width)


def _when(value: object, minutes: bool = False) -> str:
    """An ISO timestamp from a record as "2026-01-02 03:04:05" (UTC); as is if it is odd."""
    try:
        text = fleet_pull.iso(fleet_pull.parse_iso(str(value)))
    except (TypeError, ValueError):
        return _cell(value, 32)
    return text[:16 if minutes else 19].replace("T", " ")


def _duration(value: object) -> str:
    if (not isinstance(value, int | float) or isinstance(value, bool)
            or not math.isfinite(value) or value < 0):
        return "-"
    if value < 60:
        return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _commit(value: object) -> str:
    return _cell(value[:7], 7) if isinstance(value, str) and value else "-"


def _result(record: dict) -> str:
    status = record.get("status")
    exit_status = record.get("exit_status")
    if status == "failed" and isinstance(exit_status, int):
        return f"failed {exit_status}"
    return _cell(status, 11)  # "interrupted" fits


def _reason(record: dict) -> str:
    """Why the run did not converge: its reason, the pause flag's, or a pointer to the log."""
    if record.get("status") == "paused":
        paused = record.get("paused")
        why = paused.get("reason") if isinstance(paused, dict) else None
        return f"paused: {why}" if why else "paused"
    reason = record.get("reason")
    if reason:
        return str(reason)
    if record.get("status") not in (None, "ok"):
        return "no reason recorded; see the log"
    return ""


def render_status(status: dict, log_path: str) -> str:
    """``golden-state-pull status`` for people: one "label  value" line each."""
    rows = [("host", status.get("host")), ("paused", _paused(status.get("paused"))),
            ("running", "yes (a run holds the lock)" if status.get("running") else "no"),
            ("queued", "yes (triggers wait in the spool)" if status.get("queued") else "no")]
    record = status.get("last_run")
    if isinstance(record, dict):
        rows += _last_run_rows(record, log_path)
    else:
        rows.append(("last run", "never"))
    good = status.get("last_success")
    if isinstance(good, dict) and good != record:
        rows.append(("last ok",
                     f"{_commit(good.get('commit_after'))} at {_when(good.get('end'))} UTC"))
    origin = status.get("origin")
    if isinstance(origin, dict):
        rows.append(("origin", _commit(origin.get("head")) if origin.get("head")
                     else f"unknown: {origin.get('error')}"))
    value_width = STATUS_WIDTH - 10
    lines = []
    for label, value in rows:
        if label == "reason":  # the one long value: up to three lines, then an ellipsis
            wrapped = textwrap.wrap(_cell(value, 300), value_width, max_lines=3,
                                    placeholder=" …") or ["-"]
        else:
            wrapped = [_cell(value, value_width)]
        lines += [f"{label if i == 0 else '':<8}  {part}" for i, part in enumerate(wrapped)]
    return "\n".join(lines) + "\n"


def _paused(flag: object) -> str:
    if not isinstance(flag, dict):
        return "no"
    since = flag.get("since")
    when = f", since {_when(since)} UTC" if since else ""
    return f"yes{when}: {flag.get('reason') or '(no reason given)'}"


def _last_run_rows(record: dict, log_path: str) -> list[tuple[str, object]]:
    trigger = str(record.get("trigger") or "-")
    if isinstance(record.get("triggers"), int) and record["triggers"] > 1:
        trigger += f" ({record['triggers']} triggers)"
    commit = _commit(record.get("commit_after"))
    before = _commit(record.get("commit_before"))
    if before not in ("-", commit) and commit != "-":
        commit += f" (was {before})"
    result = _result(record)
    if record.get("status") != "paused":
        result += f" after {_duration(record.get('duration'))}"
    rows: list[tuple[str, object]] = [
        ("last run", f"{_when(record.get('start'))} UTC"), ("trigger", trigger),
        ("commit", commit), ("result", result)]
    if _reason(record):
        rows.append(("reason", _reason(record)))
    if record.get("status") != "paused":  # a paused run wrote no log
        rows.append(("log", f"{record.get('log') or log_path} (root only)"))
    return rows


def render_history(records: list, log_path: str, history_path: str, width: int = 100) -> str:
    """``golden-state-pull history`` for people: one row per run, oldest first."""
    records = [r for r in records if isinstance(r, dict)]
    if not records:
        return f"no runs recorded yet ({history_path})\n"
    reason_width = max(width - sum(w + 2 for _, w in HISTORY_COLUMNS), 10)
    heading = "  ".join(f"{name:<{w}}" for name, w in HISTORY_COLUMNS) + "  REASON"
    lines = [heading]
    for record in records:
        cells = (_when(record.get("start"), minutes=True), _cell(record.get("trigger"), 13),
                 _commit(record.get("commit_after")), _result(record),
                 _duration(record.get("duration")))
        row = "  ".join(f"{_cell(c, w):<{w}}" for c, (_, w) in zip(cells, HISTORY_COLUMNS,
                                                                   strict=True))
        lines.append((row + "  " + printable(_reason(record), reason_width)).rstrip())
    lines.append(f"log: {_cell(log_path, 200)} (latest run, root only)")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="golden-state-pull", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_version_argument(parser)
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
    stat = sub.add_parser("status", help="pause flag, lock, queue, last run")
    stat.add_argument("--json", action="store_true", help="print the status as a JSON object")
    stat.add_argument("--origin", action="store_true",
                      help="also ask the origin for its head (git ls-remote, bounded)")
    stat.set_defaults(func=cmd_status)
    hist = sub.add_parser("history", help="the last runs: a table, or JSON lines")
    hist.add_argument("-n", type=positive_int, default=20, help="how many runs (default 20)")
    hist.add_argument("--json", action="store_true", help="print one JSON line per run")
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
