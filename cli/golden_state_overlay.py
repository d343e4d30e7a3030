#!/usr/bin/python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden-state-overlay: inspect, mark and roll back the harness's config overlay.

    golden-state-overlay status
    golden-state-overlay list
    golden-state-overlay mark-known-good
    golden-state-overlay judge --policy FILE|- [--check]
    golden-state-overlay rollback [--to known-good|SNAPSHOT] [--force-unusable REASON]
    golden-state-overlay recover

A console script of the fleet package (logic: module_utils/fleet/overlay.py
and module_utils/fleet/snapshot_judge.py), installed by the base role into the
pull agent's virtualenv and linked into fleet_sbin_dir. The deadman switch
calls ``mark-known-good`` when the harness is healthy and ``rollback --to
known-good`` when its restarts are exhausted; rollback does not restart the
harness (the caller does).

``judge`` re-judges every snapshot a rollback could restore under today's
policy (JSON from the golden_state role, a file or ``-`` for stdin; see
fleet.snapshot_judge) and records each verdict beside the snapshot;
``--check`` writes nothing and reports what would become unusable. ``list`` and ``status`` show each
snapshot's verdict: usable, UNUSABLE (with the reasons) or not judged.
``rollback`` refuses a snapshot judged unusable; ``--force-unusable REASON``
restores it anyway, and the override is recorded in the state directory's
audit.jsonl and said on stderr.

``recover`` finishes or undoes a transaction that a killed run or a power cut
left behind (journal.json), and does nothing when there is none; a converge,
``mark-known-good`` and ``rollback`` do it first anyway. Run it before the
harness starts, so that the harness never reads a half-applied set.

Exit status: 0 ok (also when there was nothing to do), 1 the operation could
not be done (no known-good snapshot, unknown snapshot, damaged state, bad
judge policy), 2 usage error, 3 rollback refused: the snapshot is judged
unusable under today's policy (the message names each reason and rule).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from fleet.overlay import (
    DEFAULT_STATE_DIR,
    KNOWN_GOOD,
    OverlayError,
    OverlayStore,
    UnusableSnapshot,
)
from fleet_cli.cli_common import add_version_argument

PROG = "golden-state-overlay"
EXIT_REFUSED = 3  # rollback refused: the snapshot is judged unusable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Inspect, mark and roll back the harness's config overlay.",
        epilog="Exit status: 0 ok, 1 operation failed, 2 usage error, 3 rollback refused "
               "(snapshot judged unusable).")
    add_version_argument(parser)
    parser.add_argument("--state-dir", default=os.environ.get("GOLDEN_STATE_OVERLAY_DIR",
                                                              DEFAULT_STATE_DIR),
                        help=f"overlay state directory (default {DEFAULT_STATE_DIR})")
    parser.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("status", help="managed files, known-good snapshot, pending transaction")
    sub.add_parser("list", help="snapshots, oldest first")
    sub.add_parser("mark-known-good", help="record the live set as known-good")
    sub.add_parser("recover", help="finish or undo a transaction a killed run left behind")
    judge = sub.add_parser("judge", help="judge every snapshot under today's policy")
    judge.add_argument("--policy", required=True, metavar="FILE",
                       help="the judge's policy (JSON from the golden_state role); - reads "
                            "it from stdin")
    judge.add_argument("--check", action="store_true",
                       help="write no verdict; report what would become unusable")
    rollback = sub.add_parser("rollback", help="restore a snapshot byte for byte")
    rollback.add_argument("--to", default=KNOWN_GOOD, metavar="known-good|SNAPSHOT",
                          help="snapshot id from `list`, or known-good (default)")
    rollback.add_argument("--force-unusable", metavar="REASON", dest="force_unusable",
                          help="restore it even when judged unusable; REASON is recorded "
                               "in audit.jsonl")
    return parser


def _verdict_text(item: dict) -> str:
    """usable, UNUSABLE: reason; reason, or not judged."""
    if item["usable"] is None:
        return "not judged"
    if item["usable"]:
        return "usable"
    return "UNUSABLE: " + ("; ".join(item["reasons"]) or "(no reason recorded)")


def _print(args: argparse.Namespace, data: dict, lines: list[str]) -> None:
    print(json.dumps(data, indent=2, sort_keys=True) if args.json else "\n".join(lines))


def cmd_status(store: OverlayStore, args: argparse.Namespace) -> int:
    status = store.status()
    snaps = status["snapshots"]
    unusable = sum(1 for s in snaps if s["usable"] is False)
    known = status["known_good"]
    known_item = next((s for s in snaps if s["id"] == known), None)
    lines = [f"state: {status['state_dir']}",
             f"known-good: {known or 'none'}"
             + (f" ({_verdict_text(known_item)})" if known_item else ""),
             f"snapshots: {len(snaps)}" + (f", {unusable} unusable" if unusable else "")]
    if status["pending_transaction"]:
        lines.append("pending transaction: yes (`golden-state-overlay recover`, the next "
                     "converge, mark-known-good or rollback resolves it)")
    for item in status["files"]:
        state = "absent" if not item["present"] else item["sha256"][:12]
        mark = " (known-good)" if item["matches_known_good"] else ""
        lines.append(f"  {item['dest']}: {state}{mark}")
    if not status["files"]:
        lines.append("  no overlay applied yet")
    if snaps:
        lines.append("snapshot verdicts:")
        lines += [f"  {s['id']}{' [known-good]' if s['id'] == known else ''}: "
                  f"{_verdict_text(s)}" for s in snaps]
    _print(args, status, lines)
    return 0


def cmd_list(store: OverlayStore, args: argparse.Namespace) -> int:
    known = store.known_good()
    items, lines = [], []
    for snap_id in store.snapshot_ids():
        verdict = store.verdict_summary(snap_id)
        try:
            snap = store.load_snapshot(snap_id)
            item = {"id": snap_id, "created": snap.created, "reason": snap.reason,
                    "files": [f["dest"] for f in snap.files if f["present"]]}
        except OverlayError as exc:  # listed all the same: it is kept for forensics
            item = {"id": snap_id, "created": None, "reason": None, "files": [],
                    "damaged": str(exc)}
        item.update(usable=verdict["usable"], reasons=verdict["reasons"])
        items.append(item)
        mark = "  [known-good]" if snap_id == known else ""
        head = f"{snap_id}  {item['created']}  {item['reason']}" if "damaged" not in item \
            else f"{snap_id}  DAMAGED: {item['damaged']}"
        lines.append(f"{head}{mark}  {_verdict_text(verdict)}")
    _print(args, {"known_good": known, "snapshots": items}, lines or ["no snapshots"])
    return 0


def cmd_mark(store: OverlayStore, args: argparse.Namespace) -> int:
    snap_id, taken = store.mark_known_good()
    how = "new snapshot" if taken else "same content as an existing snapshot"
    _print(args, {"known_good": snap_id, "snapshot_taken": taken},
           [f"known-good: {snap_id} ({how})"])
    return 0


RECOVERED = {None: "no interrupted transaction; nothing to do",
             "completed": "completed the interrupted transaction: the new set is live",
             "rolled-back": "undid the interrupted transaction: the previous set is live"}


def cmd_recover(store: OverlayStore, args: argparse.Namespace) -> int:
    outcome = store.recover()
    _print(args, {"recovered": outcome}, [RECOVERED[outcome]])
    return 0


def cmd_judge(store: OverlayStore, args: argparse.Namespace) -> int:
    # imported here: the other commands (the deadman's) need none of the gate's code
    from fleet.config_policy import PolicyError
    from fleet.snapshot_judge import judge_all, load_judge_policy, parse_judge_policy

    try:
        if args.policy == "-":  # the role pipes it in: nothing to write, even in check mode
            policy = parse_judge_policy(sys.stdin.read(), "<stdin>")
        else:
            policy = load_judge_policy(args.policy)
        result = judge_all(store, policy, check=args.check)
    except (PolicyError, ValueError) as exc:  # JudgePolicyError is a ValueError
        print(f"{PROG} judge: {exc}", file=sys.stderr)
        return 1
    known = result["known_good"]
    newly = set(result["newly_unusable"])
    lines = []
    for verdict in result["verdicts"]:
        mark = " [known-good]" if verdict["snapshot"] == known else ""
        note = (" (would become unusable)" if args.check else " (newly unusable)") \
            if verdict["snapshot"] in newly else ""
        lines.append(f"{verdict['snapshot']}{mark}: {_verdict_text(verdict)}{note}")
    unusable = sum(1 for v in result["verdicts"] if not v["usable"])
    lines.append(f"judged {len(result['verdicts'])} snapshot(s): {unusable} unusable, "
                 f"{len(newly)} newly unusable"
                 + ("; check mode, no verdict written" if args.check else ""))
    _print(args, result, lines)
    return 0


def cmd_rollback(store: OverlayStore, args: argparse.Namespace) -> int:
    try:
        result = store.rollback(args.to, force_reason=args.force_unusable)
    except UnusableSnapshot as exc:
        if args.json:
            print(json.dumps({"refused": True, "snapshot": exc.snapshot, "reasons": exc.reasons,
                              "rules": exc.rules}, indent=2, sort_keys=True))
        print(f"{PROG}: rollback refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if result.get("forced"):
        print(f"{PROG}: WARNING: restoring {result['snapshot']} although it is judged unusable, "
              f"forced by uid {os.getuid()}: {result['forced']} (recorded in "
              f"{store.audit_path})", file=sys.stderr)
    if result["changed"]:
        lines = [f"rolled back to {result['snapshot']}; previous live set saved as "
                 f"{result['saved'] or '(nothing was live)'}"]
        lines += [f"  restored {path}" for path in result["files"]]
    else:
        lines = [f"live files already match {result['snapshot']}; nothing to do"]
    _print(args, result, lines)
    return 0


COMMANDS = {"status": cmd_status, "list": cmd_list, "mark-known-good": cmd_mark,
            "judge": cmd_judge, "rollback": cmd_rollback, "recover": cmd_recover}


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
