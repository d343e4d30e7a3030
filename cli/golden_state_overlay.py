#!/usr/bin/python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden-state-overlay: inspect, mark and roll back the harness's config overlay.

    golden-state-overlay status
    golden-state-overlay list
    golden-state-overlay mark-known-good
    golden-state-overlay rollback [--to known-good|SNAPSHOT]

A console script of the fleet package (logic: module_utils/fleet/overlay.py),
installed by the base role into the pull agent's virtualenv and linked into
fleet_sbin_dir. The deadman switch calls
``mark-known-good`` when the harness is healthy and ``rollback --to
known-good`` when its restarts are exhausted; rollback does not restart the
harness (the caller does).

Exit status: 0 ok (also when there was nothing to do), 1 the operation could
not be done (no known-good snapshot, unknown snapshot, damaged state), 2
usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from fleet.overlay import DEFAULT_STATE_DIR, KNOWN_GOOD, OverlayError, OverlayStore

PROG = "golden-state-overlay"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Inspect, mark and roll back the harness's config overlay.",
        epilog="Exit status: 0 ok, 1 operation failed, 2 usage error.")
    parser.add_argument("--state-dir", default=os.environ.get("GOLDEN_STATE_OVERLAY_DIR",
                                                              DEFAULT_STATE_DIR),
                        help=f"overlay state directory (default {DEFAULT_STATE_DIR})")
    parser.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("status", help="managed files, known-good snapshot, pending transaction")
    sub.add_parser("list", help="snapshots, oldest first")
    sub.add_parser("mark-known-good", help="record the live set as known-good")
    rollback = sub.add_parser("rollback", help="restore a snapshot byte for byte")
    rollback.add_argument("--to", default=KNOWN_GOOD, metavar="known-good|SNAPSHOT",
                          help="snapshot id from `list`, or known-good (default)")
    return parser


def _print(args: argparse.Namespace, data: dict, lines: list[str]) -> None:
    print(json.dumps(data, indent=2, sort_keys=True) if args.json else "\n".join(lines))


def cmd_status(store: OverlayStore, args: argparse.Namespace) -> int:
    status = store.status()
    lines = [f"state: {status['state_dir']}",
             f"known-good: {status['known_good'] or 'none'}",
             f"snapshots: {len(status['snapshots'])}"]
    if status["pending_transaction"]:
        lines.append("pending transaction: yes (the next converge or command resolves it)")
    for item in status["files"]:
        state = "absent" if not item["present"] else item["sha256"][:12]
        mark = " (known-good)" if item["matches_known_good"] else ""
        lines.append(f"  {item['dest']}: {state}{mark}")
    if not status["files"]:
        lines.append("  no overlay applied yet")
    _print(args, status, lines)
    return 0


def cmd_list(store: OverlayStore, args: argparse.Namespace) -> int:
    known = store.known_good()
    snaps = [store.load_snapshot(i) for i in store.snapshot_ids()]
    data = {"known_good": known,
            "snapshots": [{"id": s.id, "created": s.created, "reason": s.reason,
                           "files": [f["dest"] for f in s.files if f["present"]]}
                          for s in snaps]}
    lines = [f"{s.id}  {s.created}  {s.reason}{'  [known-good]' if s.id == known else ''}"
             for s in snaps] or ["no snapshots"]
    _print(args, data, lines)
    return 0


def cmd_mark(store: OverlayStore, args: argparse.Namespace) -> int:
    snap_id, taken = store.mark_known_good()
    how = "new snapshot" if taken else "same content as an existing snapshot"
    _print(args, {"known_good": snap_id, "snapshot_taken": taken},
           [f"known-good: {snap_id} ({how})"])
    return 0


def cmd_rollback(store: OverlayStore, args: argparse.Namespace) -> int:
    result = store.rollback(args.to)
    if result["changed"]:
        lines = [f"rolled back to {result['snapshot']}; previous live set saved as "
                 f"{result['saved'] or '(nothing was live)'}"]
        lines += [f"  restored {path}" for path in result["files"]]
    else:
        lines = [f"live files already match {result['snapshot']}; nothing to do"]
    _print(args, result, lines)
    return 0


COMMANDS = {"status": cmd_status, "list": cmd_list, "mark-known-good": cmd_mark,
            "rollback": cmd_rollback}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    store = OverlayStore(args.state_dir)
    try:
        return COMMANDS[args.command](store, args)
    except OverlayError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except PermissionError as exc:
        print(f"{PROG}: {exc.filename or args.state_dir}: permission denied (run as root)",
              file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG}: {exc.filename or args.state_dir}: {exc.strerror}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
