"""fleet.overlay: crash consistency of the overlay's transactions, proven at every step.

What the overlay promises (its module docstring, docs/golden_state.md): the
managed set is replaced as ONE transaction, so a host never holds a mix of old
and new files. The set is each file's bytes and mode, plus state.json, the
record of who signed the live set. fleet.overlay calls ``_crash_point(step)``
just before every durable step (a file written, fsynced, renamed or removed, a
journal update). Here, for a converge's apply and for a rollback:

* one run records the steps, and a syscall recorder proves the list complete:
  every syscall that changes what a reader of the host sees comes right after
  a crash point;
* for each step k, a forked child runs the transaction on a fresh copy of the
  same starting state and dies at k with ``os._exit``: no ``except`` or
  ``finally`` runs, as under SIGKILL (so atomic_write's cleanup cannot tidy
  up). The parent recovers as a host does (``golden-state-overlay recover``,
  which a converge, mark-known-good and rollback also run first) and checks:
  the set is wholly the old or wholly the new one, byte for byte and mode for
  mode, state.json included; the journal is gone; the known-good snapshot and
  every listed snapshot verify; a second recovery changes nothing; the next
  run of the transaction ends in the new set and leaves no debris. A recovery
  killed at each of its own steps is checked the same way;
* ENOSPC and EROFS at each step: the error names the step's file and the
  errno text, nothing is left half done, the old set stays (after the commit
  point, the new one, complete).

No containers, no timing: the child's death is the wait condition.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fleet import overlay as fleet_overlay
from fleet.overlay import TMP_SUFFIX, FileSpec, OverlayStore
from fleet_cli import golden_state_overlay as tool

from tests.unit.module_utils.forking import fork

CRASHED = 77  # the exit status of a child that died at its crash point
UID, GID = os.getuid(), os.getgid()
SNAPSHOT_ID = re.compile(r"\d{6}-\d{8}T\d{6}Z")
# atomic_write's temp file (mkstemp: ".NAME." + 8 characters) of a state file
ATOMIC_TEMP = re.compile(r"\.(journal\.json|state\.json|known-good|manifest\.json)\.[a-z0-9_]{8}")
COVERED: dict[str, int] = {}


def _noop(step: str) -> None:
    """What fleet.overlay._crash_point does in production."""


@contextlib.contextmanager
def seam(hook: Callable[[str], None]) -> Iterator[None]:
    """Replace the crash seam for the duration of the block."""
    fleet_overlay._crash_point = hook
    try:
        yield
    finally:
        fleet_overlay._crash_point = _noop


def sigs(version: int) -> dict:
    return {"config.yaml": [f"{version:064x}"]}


class Lab:
    """One starting state, restored at the same absolute paths before every run.

    Live set v3 (four files in two directories), signed by key 3; snapshots:
    000001 v1 (known-good), 000002 v1 as apply saw it (channel_directory.json
    absent), 000003 v2. The apply under test brings v4 (new bytes everywhere,
    SOUL.md's mode 0640 -> 0600, new signer) with keep=1, so it also rotates
    000002 and 000003 away. The rollback under test restores 000002: three
    files rewritten, channel_directory.json removed, signer back to key 1.
    """

    def __init__(self, base: Path):
        self.work = base / "work"
        self.saved = base / "saved"
        self.crashed = base / "crashed"
        self.hermes = self.work / "hermes"
        self.timmy = self.work / "timmy"
        self.state = self.work / "state"
        self.known_good = ""
        self.v1_snapshot = ""

    def store(self) -> OverlayStore:
        return OverlayStore(str(self.state))

    def version(self, n: int) -> list[FileSpec]:
        specs = [FileSpec(str(self.hermes / "config.yaml"), f"model: v{n}\n".encode() * n,
                          0o640, UID, GID),
                 FileSpec(str(self.timmy / "SOUL.md"), f"soul {n}\n".encode(),
                          0o600 if n >= 4 else 0o640, UID, GID),
                 FileSpec(str(self.hermes / "secret.env"), f"KEY={n}\n".encode(), 0o600, UID,
                          GID, secret=True)]
        if n >= 2:
            specs.append(FileSpec(str(self.hermes / "channel_directory.json"),
                                  json.dumps({"v": n}).encode(), 0o640, UID, GID,
                                  restart=False))
        return specs

    def paths(self) -> list[str]:
        return [s.dest for s in self.version(4)]

    def build(self) -> None:
        self.hermes.mkdir(parents=True)
        self.timmy.mkdir()
        store = self.store()
        store.apply(self.version(1), signatures=sigs(1))
        self.known_good, _ = store.mark_known_good()
        self.v1_snapshot = store.apply(self.version(2), signatures=sigs(2))["snapshot"]
        store.apply(self.version(3), signatures=sigs(3))
        shutil.copytree(self.work, self.saved, symlinks=True)

    # Files are hard-linked, not copied (three times faster over ~900 restores): the
    # overlay never writes into an existing file, it writes a new one and renames it
    # over, so the saved copies stay as they were; the lab fixture checks that at the end.
    def restore(self, source: Path | None = None) -> None:
        shutil.rmtree(self.work)
        shutil.copytree(source or self.saved, self.work, symlinks=True, copy_function=os.link)

    def keep(self, target: Path) -> None:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(self.work, target, symlinks=True, copy_function=os.link)


@pytest.fixture(autouse=True)
def no_fsync(monkeypatch):
    """fsync makes writes survive a power cut; a killed process loses nothing that was
    written, with or without it. The model here is SIGKILL, so the hundreds of runs
    skip the disk flushes (each crash point before an fsync is still visited)."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    made = Lab(tmp_path_factory.mktemp("overlay-crash"))
    made.build()
    saved = tree_digest(made.saved)
    yield made
    assert tree_digest(made.saved) == saved, "a file was changed in place, not replaced"


def transaction(lab: Lab, name: str) -> Callable[[], object]:
    if name == "apply":  # a converge
        return lambda: lab.store().apply(lab.version(4), keep=1, signatures=sigs(4))
    return lambda: lab.store().rollback(lab.v1_snapshot)  # the deadman's or an operator's


# -- what the host holds ----------------------------------------------------------

def view(lab: Lab) -> dict:
    """The managed set as a reader sees it: (bytes, mode) or None per file, and state.json."""
    out: dict = {}
    for path in lab.paths():
        try:
            mode = stat.S_IMODE(os.lstat(path).st_mode)
        except FileNotFoundError:
            out[os.path.basename(path)] = None
        else:
            out[os.path.basename(path)] = (Path(path).read_bytes(), mode)
    state = lab.state / "state.json"
    out["state.json"] = json.loads(state.read_bytes()) if state.exists() else None
    return out


def tree_digest(root: Path) -> dict:
    """Every entry under ``root``: kind, mode and content digest."""
    out = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        out[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode),
                                            stat.S_IMODE(info.st_mode), digest)
    return out


def fingerprint(lab: Lab) -> dict:
    """The lab as it is (a no-op changes nothing in it)."""
    return tree_digest(lab.work)


def debris(lab: Lab) -> list[str]:
    """Leftovers of an unfinished step: temp files beside targets, half snapshots,
    atomic_write temp files in the state directory."""
    found = []
    for path in lab.work.rglob("*"):
        name = path.name
        if (name.endswith(TMP_SUFFIX) or name.startswith((".staging-", ".deleting-"))
                or ATOMIC_TEMP.fullmatch(name)):
            found.append(str(path.relative_to(lab.work)))
    return sorted(found)


def difference(got: dict, old: dict, new: dict) -> str:
    """Which version each file (and state.json) is: "config.yaml: new; SOUL.md: old"."""
    def which(key: str) -> str:
        return "old" if got[key] == old[key] else "new" if got[key] == new[key] else "neither"
    return "; ".join(f"{key}: {which(key)}" for key in got)


def check_snapshots(lab: Lab) -> None:
    """Every listed snapshot loads and each stored copy matches its digest; known-good is
    still the v1 set."""
    store = lab.store()
    assert store.known_good() == lab.known_good
    for snap_id in store.snapshot_ids():
        for entry in store.load_snapshot(snap_id).files:
            if entry["present"]:
                store.snapshot_content(snap_id, entry)  # raises on a damaged copy
    known = store.load_snapshot(lab.known_good)
    assert {os.path.basename(e["dest"]): store.snapshot_content(lab.known_good, e)
            for e in known.files} == {os.path.basename(s.dest): s.content
                                      for s in lab.version(1)}


def run_tool(lab: Lab, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = tool.main(["--state-dir", str(lab.state), *argv])
    return code, out.getvalue(), err.getvalue()


def recover(lab: Lab) -> str | None:
    """What a host runs after a crash: `golden-state-overlay recover` (a converge,
    mark-known-good and rollback run the same store.recover() first)."""
    code, out, err = run_tool(lab, "--json", "recover")
    assert code == 0 and err == "", err
    return json.loads(out)["recovered"]


# -- running to a step --------------------------------------------------------------

def steps_of(action: Callable[[], object]) -> list[str]:
    steps: list[str] = []
    with seam(steps.append):
        action()
    return steps


def crash_at(k: int, action: Callable[[], object], where: str) -> None:
    """Run ``action`` in a forked child that dies at its k-th crash point (os._exit: no
    cleanup handler runs, as under SIGKILL); the parent waits for that death."""
    seen = itertools.count()

    def die(step: str) -> None:
        if next(seen) == k:
            os._exit(CRASHED)

    def work() -> None:
        fleet_overlay._crash_point = die  # in the child only
        action()

    _, status = os.waitpid(fork(work), 0)
    code = os.waitstatus_to_exitcode(status)
    assert code == CRASHED, f"{where}: the child did not die at its crash point (exit {code})"


def fail_at(k: int, err: int) -> Callable[[str], None]:
    """A seam that makes the k-th step fail as a full disk or read-only file system does
    (the OSError of a write names no file)."""
    seen = itertools.count()

    def fail(step: str) -> None:
        if next(seen) == k:
            raise OSError(err, os.strerror(err))

    return fail


def path_of(step: str) -> str:
    return step.rsplit(" ", 1)[1]


def same_file(step: str, message: str, err: int) -> bool:
    """Whether ``message`` names the step's file and the errno text (snapshot ids carry
    the time: compared without it)."""
    return (SNAPSHOT_ID.sub("<id>", f"{path_of(step)}: {os.strerror(err)}")
            in SNAPSHOT_ID.sub("<id>", message))


def settled(lab: Lab, old: dict, new: dict, where: str) -> dict:
    """Recover, then check the promises; returns the set the host holds."""
    outcome = recover(lab)
    got = view(lab)
    assert got in (old, new), f"{where}: a mix after recovery: {difference(got, old, new)}"
    assert outcome in ((None, "completed") if got == new else (None, "rolled-back")), \
        f"{where}: recovery said {outcome!r}"
    assert not (lab.state / "journal.json").exists(), f"{where}: journal left behind"
    check_snapshots(lab)
    before = fingerprint(lab)
    assert recover(lab) is None, f"{where}: a second recovery found work"
    assert fingerprint(lab) == before, f"{where}: a second recovery changed files"
    return got


def allowed_debris(lab: Lab, *crash_steps: str) -> set[str]:
    """A crash inside atomic_write (after its temp file, before its rename) leaves that temp
    file: nothing reads it. Everything else must be gone after the next run."""
    names = {os.path.basename(path_of(s)) for s in crash_steps
             if s.startswith("rename into place ") and os.path.dirname(path_of(s))
             == str(lab.state)}
    return names


def check_debris(lab: Lab, where: str, *crash_steps: str) -> None:
    allowed = allowed_debris(lab, *crash_steps)
    left = [d for d in debris(lab)
            if not (os.path.dirname(d) == "state"
                    and ATOMIC_TEMP.fullmatch(os.path.basename(d))
                    and ATOMIC_TEMP.fullmatch(os.path.basename(d)).group(1) in allowed)]
    assert left == [], f"{where}: debris after the next run: {left}"


def expected_new(lab: Lab, name: str) -> dict:
    """The new set, written down independently of the code under test."""
    if name == "apply":
        specs, signer = lab.version(4), sigs(4)
        managed = [s.meta() for s in specs]
    else:
        specs, signer = lab.version(1), sigs(1)
        managed = [s.meta() for s in lab.version(3)]  # a rollback keeps the managed list
    out: dict = {os.path.basename(p): None for p in lab.paths()}
    out.update({os.path.basename(s.dest): (s.content, s.mode) for s in specs})
    out["state.json"] = {"files": managed, "signatures": signer}
    return out


# -- the seam misses nothing ----------------------------------------------------------

MUTATING = ("replace", "rename", "unlink", "remove", "rmdir", "mkdir", "chmod", "chown",
            "truncate", "link", "symlink")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _resolve(path: object, dir_fd: int | None) -> str:
    path = os.fsdecode(path) if not isinstance(path, int) else f"<fd {path}>"
    if dir_fd is not None and not os.path.isabs(path):
        return os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
    return path


def visible(path: str) -> bool:
    """Whether a reader of the host or of the store sees this path: not a temp file, not
    inside a snapshot being written (.staging-) or deleted (.deleting-)."""
    parts = Path(path).parts
    if any(p.startswith((".staging-", ".deleting-")) for p in parts):
        return False
    return not (parts[-1].endswith(TMP_SUFFIX) or ATOMIC_TEMP.fullmatch(parts[-1]))


@contextlib.contextmanager
def syscalls(events: list, monkeypatch) -> Iterator[None]:
    """Record every successful mutating syscall (after it returns) into ``events``."""
    with monkeypatch.context() as patch:
        for name in MUTATING:
            real = getattr(os, name)

            def wrapper(*args, _real=real, _name=name, **kwargs):
                result = _real(*args, **kwargs)
                dir_fd = kwargs.get("dir_fd", kwargs.get("src_dir_fd"))
                paths = [_resolve(a, dir_fd) for a in args[:2] if isinstance(a, str | bytes)]
                if _name in ("chmod", "chown"):
                    paths = paths[:1]
                events.append(("syscall", _name, paths))
                return result

            patch.setattr(os, name, wrapper)
        real_open = os.open

        def opener(path, flags, mode=0o777, *, dir_fd=None):
            fd = real_open(path, flags, mode, dir_fd=dir_fd)
            if flags & WRITE_FLAGS:
                events.append(("syscall", "open", [_resolve(path, dir_fd)]))
            return fd

        patch.setattr(os, "open", opener)
        yield


@pytest.mark.parametrize("name", ["apply", "rollback"])
def test_every_visible_change_comes_right_after_a_crash_point(lab, name, monkeypatch):
    lab.restore()
    events: list = []
    with seam(lambda step: events.append(("point", step))), syscalls(events, monkeypatch):
        transaction(lab, name)()
    points = [e for e in events if e[0] == "point"]
    changes = [e for e in events if e[0] == "syscall" and any(visible(p) for p in e[2])]
    assert points and changes
    for index, event in enumerate(events):
        if event[0] == "syscall" and any(visible(p) for p in event[2]):
            assert index > 0 and events[index - 1][0] == "point", (
                f"{name}: {event[1]}({', '.join(event[2])}) changes what a reader sees and "
                f"has no crash point right before it; after: {events[index - 1]}")
    # the kinds of step the crash test below kills: temp files written and fsynced,
    # directories fsynced, renames, unlinks, the journal written and deleted
    kinds = {step.split(" ", 1)[0] for _, step in points}
    assert {"write", "fsync", "rename", "unlink"} <= kinds
    journal = str(lab.state / "journal.json")
    assert f"write {journal}" in [s for _, s in points]
    assert f"unlink {journal}" in [s for _, s in points]


# -- killed at every step ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["apply", "rollback"])
def test_a_run_killed_at_any_step_recovers_to_the_old_or_the_new_set(lab, name, capsys):
    action = transaction(lab, name)
    lab.restore()
    old = view(lab)
    steps = steps_of(action)
    new = view(lab)
    assert new == expected_new(lab, name) and new != old
    outcomes = {"old": 0, "new": 0}
    nested = 0
    for k, step in enumerate(steps):
        where = f"{name} killed at step {k} ({SNAPSHOT_ID.sub('<id>', step)})"
        lab.restore()
        crash_at(k, action, where)
        if step.startswith("rename into place "):
            # killed inside atomic_write: its `except BaseException` cleanup did not run,
            # as under SIGKILL, so its temp file is still there (the folder may be a
            # .staging- one, whose name carries the time)
            target = Path(path_of(step))
            temp = rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}"
            folders = [d for d in target.parent.parent.iterdir()
                       if SNAPSHOT_ID.sub("", d.name) == SNAPSHOT_ID.sub("", target.parent.name)]
            assert any(re.fullmatch(temp, n.name) for d in folders for n in d.iterdir()), where
        lab.keep(lab.crashed)
        # the recovery, killed at each of its own steps, then recovered again
        recovery = steps_of(lambda: lab.store().recover())
        for j, inner in enumerate(recovery):
            inner_where = f"{where}, recovery killed at its step {j} ({inner})"
            lab.restore(lab.crashed)
            crash_at(j, lambda: lab.store().recover(), inner_where)
            settled(lab, old, new, inner_where)
            action()
            assert view(lab) == new, inner_where
            check_debris(lab, inner_where, step, inner)
            nested += 1
        lab.restore(lab.crashed)
        got = settled(lab, old, new, where)
        outcomes["new" if got == new else "old"] += 1
        action()  # the next converge (or rollback) finishes the job
        assert view(lab) == new, f"{where}: the next run did not reach the new set"
        check_debris(lab, where, step)
    assert outcomes["old"] and outcomes["new"], outcomes  # both ends are reached
    COVERED[name] = len(steps)
    COVERED[f"{name} recovery"] = nested
    with capsys.disabled():
        print(f"\ncrash points covered: {len(steps)} ({name}: {outcomes['old']} recovered "
              f"to the old set, {outcomes['new']} to the new one), plus {nested} in the "
              f"recovery after a crash")


def test_crash_points_covered_summary(capsys):
    """Runs after the two above (file order): the total, for `pytest -s` and the log."""
    if not {"apply", "rollback"} <= set(COVERED):
        pytest.skip("run with the crash tests above")
    total = sum(COVERED.values())
    with capsys.disabled():
        print(f"\ncrash points covered: {total} (apply {COVERED['apply']}, rollback "
              f"{COVERED['rollback']}, recovery after a crash "
              f"{COVERED['apply recovery'] + COVERED['rollback recovery']})")
    assert COVERED["apply"] >= 30 and COVERED["rollback"] >= 20, COVERED


# -- a full disk, a read-only file system ------------------------------------------------

@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS], ids=["ENOSPC", "EROFS"])
@pytest.mark.parametrize("name", ["apply", "rollback"])
def test_a_failing_step_names_the_file_and_leaves_the_old_set(lab, name, err):
    action = transaction(lab, name)
    lab.restore()
    old = view(lab)
    steps = steps_of(action)
    new = view(lab)
    commit = steps.index(f"unlink {lab.state / 'journal.json'}")  # the commit point
    for k, step in enumerate(steps):
        where = f"{name}, {errno.errorcode[err]} at step {k} ({step})"
        lab.restore()
        with seam(fail_at(k, err)):
            if name == "apply":  # the module prints f"{exc.filename}: {exc.strerror}"
                with pytest.raises(OSError) as failed:
                    action()
                code, message = 1, f"{failed.value.filename}: {failed.value.strerror}"
            else:  # the deadman and operators run the tool
                code, _, message = run_tool(lab, "rollback", "--to", lab.v1_snapshot)
        assert code == 1 and "Traceback" not in message, where
        assert same_file(step, message, err), f"{where}: {message}"
        assert view(lab) == (old if k < commit else new), where
        # nothing half done; a snapshot whose deletion failed is out of the listing and
        # swept by the next run
        left = [d for d in debris(lab) if ".deleting-" not in d]
        assert left == [], f"{where}: left {left}"
        check_snapshots(lab)
        assert (lab.state / "journal.json").exists() == (k == commit), where
        assert settled(lab, old, new, where) == (old if k < commit else new)
        action()  # the next converge, on a disk with room again
        assert view(lab) == new and debris(lab) == [], where


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS], ids=["ENOSPC", "EROFS"])
def test_mark_known_good_on_a_full_or_read_only_disk(lab, err):
    lab.restore()
    old = view(lab)
    steps = steps_of(lambda: lab.store().mark_known_good())
    assert steps[-1] == f"rename into place {lab.state / 'known-good'}"
    for k, step in enumerate(steps):
        where = f"mark-known-good, {errno.errorcode[err]} at step {k} ({step})"
        lab.restore()
        with seam(fail_at(k, err)):
            code, _, message = run_tool(lab, "mark-known-good")
        assert code == 1 and "Traceback" not in message, where
        assert message.startswith("golden-state-overlay: ") and message.count("\n") == 1, where
        assert same_file(step, message, err), f"{where}: {message}"
        assert view(lab) == old and debris(lab) == [], where
        check_snapshots(lab)  # known-good unchanged, no half snapshot listed


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS], ids=["ENOSPC", "EROFS"])
def test_a_recovery_that_fails_keeps_its_journal_for_the_next_one(lab, err):
    """Killed between two renames, then recovering on a full or read-only disk."""
    action = transaction(lab, "apply")
    lab.restore()
    old = view(lab)
    steps = steps_of(action)
    new = view(lab)
    first_rename = next(k for k, s in enumerate(steps)
                        if s.startswith("rename ") and s.endswith(str(lab.hermes / "config.yaml")))
    lab.restore()
    crash_at(first_rename + 1, action, "apply killed after its first rename")
    lab.keep(lab.crashed)
    recovery = steps_of(lambda: lab.store().recover())
    unlink = recovery.index(f"unlink {lab.state / 'journal.json'}")
    for k, step in enumerate(recovery):
        where = f"recover, {errno.errorcode[err]} at step {k} ({step})"
        lab.restore(lab.crashed)
        with seam(fail_at(k, err)):
            code, _, message = run_tool(lab, "recover")
        assert code == 1 and "Traceback" not in message, where
        assert same_file(step, message, err), f"{where}: {message}"
        assert (lab.state / "journal.json").exists() == (k <= unlink), where
        settled(lab, old, new, where)


# -- a damaged journal -------------------------------------------------------------------

@pytest.mark.parametrize("journal", [b"{not json", b"[]", b'{"phase": "commit"}',
                                     b'{"entries": [{"dest": 1, "tmp": "x", "sha256": null}]}',
                                     b'{"entries": ["x"]}'],
                         ids=["not-json", "a-list", "no-entries", "bad-dest", "bad-entry"])
def test_a_damaged_journal_is_a_clear_error_and_nothing_is_touched(lab, journal):
    lab.restore()
    assert run_tool(lab, "recover") == (0, "no interrupted transaction; nothing to do\n", "")
    (lab.state / "journal.json").write_bytes(journal)
    before = fingerprint(lab)
    code, out, err = run_tool(lab, "recover")
    assert (code, out) == (1, "") and "Traceback" not in err
    assert err.startswith(f"golden-state-overlay: {lab.state / 'journal.json'}: ")
    assert "remove it to continue" in err
    assert fingerprint(lab) == before
