# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harness's config overlay: validation, transactional apply, snapshots, rollback.

Two halves, one file (so the logic lives once):

* Controller side (``golden_state_overlay_check`` module, ``overlay-check``
  CLI): merge the provider chain into config.yaml, validate it against the
  versioned JSON Schema, check JSON files' syntax. Needs PyYAML and
  jsonschema, imported on first use so the host side never needs them.
* Host side (``golden_state_overlay`` module, ``golden-state-overlay`` tool):
  standard library only. The live set is replaced as ONE transaction:

  1. finish or undo a transaction an earlier run left behind (``recover``);
  2. snapshot the live files (``snapshots/<id>/``), rotate old snapshots;
  3. write every new file to a temp file beside its target (owner, mode,
     fsync);
  4. record the journal (``journal.json``: targets, temp files, digests,
     the snapshot holding the old set, state.json before and after);
  5. rename every temp file over its target, fsync the directories, write
     state.json;
  6. delete the journal: the commit point.

  A run that dies before 4 left the live files untouched (stray temp files
  are removed next time). A run that dies in 5 left a journal: the next run
  completes the renames when every new file is intact, and otherwise restores
  the old set from the snapshot. Either way a host never keeps a mix. A step
  that fails (a full disk, a read-only file system) before 6 restores the old
  set at once; the error names the file. Each step calls ``_crash_point``, the
  seam through which the unit tests kill or fail the run at every step.

State directory layout (root-owned, 0700: snapshots may hold secrets)::

    state.json           the managed set: files (dest, mode, uid, gid, secret,
                         restart) and, when known, signatures ({source: [pubkey
                         hex, ...]}: who signed the applied overlay)
    journal.json         present only while a transaction is in flight
    known-good           id of the snapshot that was live when the harness was healthy
    audit.jsonl          one JSON line per forced rollback of an unusable snapshot
    snapshots/<id>/manifest.json   immutable: files, reason, created, signatures
    snapshots/<id>/files/<n>       the stored copies
    snapshots/<id>/verdict.json    the latest judgement under today's policy
                                   (fleet.snapshot_judge): usable, reasons, rules

A snapshot whose verdict is unusable is never rotated away (kept for
forensics) and never restored unless an operator forces it with a reason,
which is logged in audit.jsonl.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .files import atomic_write, fsync_dir
from .strict_load import EXCERPT, DocumentError, load_file, load_json, load_yaml
from .text import printable, show

DEFAULT_STATE_DIR = "/var/lib/golden-state/overlay"
DEFAULT_KEEP = 5
KNOWN_GOOD = "known-good"
HIDDEN_CONTENT = "<secret file: content not shown>"
TMP_SUFFIX = ".golden-state-new"
_SNAPSHOT_ID = re.compile(r"^(\d{6})-\d{8}T\d{6}Z$")


class OverlayError(Exception):
    """A problem an operator can fix; the message names the file or setting."""


class UnusableSnapshot(OverlayError):
    """A rollback target whose verdict says today's policy refuses it."""

    def __init__(self, snapshot: str, verdict: dict, audit_path: str):
        self.snapshot = snapshot
        self.verdict = verdict
        self.reasons = [str(r) for r in verdict.get("reasons") or []]
        rules = verdict.get("rules") or []
        self.rules = [str(r) for r in rules]
        shown = [reason if index >= len(rules) or f"[rule {rules[index]}]" in reason
                 else f"{reason} [rule {rules[index]}]"
                 for index, reason in enumerate(self.reasons)] or ["(no reason recorded)"]
        judged = verdict.get("judged")
        super().__init__(
            f"snapshot {snapshot} is unusable under today's policy"
            + (f" (judged {judged})" if judged else "") + ": " + "; ".join(shown)
            + f". It is kept for forensics and was not restored. To restore it anyway: "
              f"golden-state-overlay rollback --to {snapshot} --force-unusable REASON "
              f"(recorded in {audit_path})")


# --------------------------------------------------------------------------
# Controller side: provider chain, schema validation, syntax checks


def _yaml():
    try:
        import yaml
    except ImportError:
        raise OverlayError("reading config.yaml needs PyYAML (pip install pyyaml)") from None
    return yaml


def json_path(parts: Any) -> str:
    """``$.model.providers[0].name`` from a jsonschema error's absolute path."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", str(part)) and len(str(part)) <= EXCERPT:
            out += f".{part}"
        else:  # a long key is cut: the path names the place, it need not quote all of it
            text = str(part)
            out += "[" + json.dumps(text[:EXCERPT] + ("…" if len(text) > EXCERPT else "")) + "]"
    return out


def parse_yaml(text: str, name: str) -> Any:
    """Parse YAML strictly (fleet.strict_load: overlay size cap, no duplicate keys,
    bounded aliases and nesting); OverlayError names the file, line and column."""
    try:
        return load_yaml(text, name, "overlay")
    except DocumentError as exc:
        raise OverlayError(str(exc)) from None


def check_json_text(text: str, name: str) -> list[str]:
    """Errors (file, line, column) for text that is not strictly valid JSON
    (fleet.strict_load); [] when it is."""
    try:
        load_json(text, name, "overlay")
    except DocumentError as exc:
        return [str(exc)]
    return []


def merge_provider_chain(base: Any, providers: list[dict], name: str = "config.yaml") -> dict:
    """Put the chain into ``model``: ``providers`` is the chain, ``default`` its first model."""
    if base is None:
        base = {}
    if not isinstance(base, dict):
        raise OverlayError(f"{name}: $: expected a mapping at the top level")
    merged = dict(base)
    model = merged.get("model") or {}
    if not isinstance(model, dict):
        raise OverlayError(f"{name}: $.model: expected a mapping")
    model = dict(model)
    chain = [dict(p) for p in providers]
    model["providers"] = chain
    if chain and isinstance(chain[0], dict) and "model" in chain[0]:
        model["default"] = chain[0]["model"]
    merged["model"] = model
    return merged


def render_config(base_text: str, providers: list[dict] | None, header: str = "",
                  name: str = "config.yaml") -> str:
    """config.yaml as the host gets it: base YAML + provider chain, keys in base order."""
    yaml = _yaml()
    data = parse_yaml(base_text, name)
    if providers is not None:
        data = merge_provider_chain(data, providers, name)
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False,
                          allow_unicode=True, width=100)
    if header and not header.endswith("\n"):
        header += "\n"
    return header + body


def load_schema(path: str) -> dict:
    """The JSON Schema at ``path`` (a regular file, read strictly: never waits on a FIFO)."""
    try:
        schema = load_file(path, "schema", "json")
    except DocumentError as exc:
        raise OverlayError(str(exc)) from None
    if not isinstance(schema, dict):
        raise OverlayError(f"{path}: a JSON Schema must be an object")
    return schema


def schema_errors(data: Any, schema: dict, name: str) -> list[str]:
    """One ``name: $.path: message`` line per schema violation, in path order."""
    try:
        import jsonschema
    except ImportError:
        raise OverlayError("validating config.yaml needs jsonschema (pip install jsonschema)") \
            from None
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema)
    errors = sorted(validator.iter_errors(data),
                    key=lambda e: (json_path(e.absolute_path), e.message))
    return [f"{name}: {json_path(e.absolute_path)}: {_schema_message(e)}" for e in errors]


SCHEMA_MESSAGE = 200  # characters of one schema error's message


def _schema_message(error: Any) -> str:
    """jsonschema's message with the offending value cut to an escaped excerpt: the
    message quotes the whole value (``[[...]] is not of type 'integer'``)."""
    message = error.message
    if len(message) > SCHEMA_MESSAGE:
        value = repr(error.instance)
        if len(value) > EXCERPT and value in message:
            message = message.replace(value, show(value[:EXCERPT + 1], EXCERPT))
    return printable(message[:4 * SCHEMA_MESSAGE], SCHEMA_MESSAGE)


def check_config_text(text: str, schema: dict, name: str) -> list[str]:
    """Validate a rendered config.yaml: YAML syntax, then the schema."""
    try:
        data = parse_yaml(text, name)
    except OverlayError as exc:
        return [str(exc)]
    return schema_errors(data, schema, name)


def check_text(text: str, fmt: str, name: str, schema: dict | None = None) -> list[str]:
    """Dispatch on format: ``config`` (schema), ``json``, ``yaml`` (syntax) or ``text``."""
    if fmt == "config":
        if schema is None:
            raise OverlayError("check_text: the config format needs a schema")
        return check_config_text(text, schema, name)
    if fmt == "json":
        return check_json_text(text, name)
    if fmt == "yaml":
        try:
            parse_yaml(text, name)
        except OverlayError as exc:
            return [str(exc)]
    return []


def format_for(path: str) -> str:
    """Guess a file's check from its name: config.yaml, *.json, *.yaml/*.yml, else text."""
    base = os.path.basename(path)
    if base == "config.yaml":
        return "config"
    if base.endswith(".json"):
        return "json"
    if base.endswith((".yaml", ".yml")):
        return "yaml"
    return "text"


# --------------------------------------------------------------------------
# Host side: live files, desired files, plans


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileSpec:
    """A file the overlay should hold: exact bytes, mode and owner."""

    dest: str
    content: bytes
    mode: int = 0o640
    uid: int | None = None  # None: unresolved (check mode before the user exists)
    gid: int | None = None
    secret: bool = False
    restart: bool = True

    def meta(self) -> dict:
        return {"dest": self.dest, "mode": self.mode, "uid": self.uid, "gid": self.gid,
                "secret": self.secret, "restart": self.restart}


@dataclass
class LiveFile:
    dest: str
    present: bool
    content: bytes = b""
    mode: int = 0
    uid: int = 0
    gid: int = 0


def read_live(dest: str) -> LiveFile:
    """The file as it is now (a symlink or directory at dest is an error, not followed)."""
    try:
        fd = os.open(dest, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return LiveFile(dest, False)
    except OSError as exc:
        raise OverlayError(f"{dest}: cannot read the live file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not os.path.stat.S_ISREG(info.st_mode):
            raise OverlayError(f"{dest}: not a regular file")
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return LiveFile(dest, True, b"".join(chunks), info.st_mode & 0o7777, info.st_uid,
                    info.st_gid)


def differences(spec: FileSpec, live: LiveFile) -> list[str]:
    """What differs: ``missing`` or any of ``content``, ``mode``, ``owner``, ``group``."""
    if not live.present:
        return ["missing"]
    out = []
    if live.content != spec.content:
        out.append("content")
    if live.mode != spec.mode:
        out.append("mode")
    if spec.uid is None or live.uid != spec.uid:
        out.append("owner")
    if spec.gid is None or live.gid != spec.gid:
        out.append("group")
    return out


def _shown(data: bytes, secret: bool) -> str:
    if secret:
        return HIDDEN_CONTENT + "\n" if data else ""
    return data.decode("utf-8", errors="replace")


def file_diff(spec: FileSpec, live: LiveFile) -> dict:
    """Ansible's diff dict for one file; secret contents never appear, only a mask."""
    before = _shown(live.content, spec.secret) if live.present else ""
    after = _shown(spec.content, spec.secret)
    if spec.secret and live.present and live.content != spec.content:
        before, after = HIDDEN_CONTENT + " (old)\n", HIDDEN_CONTENT + " (new)\n"
    header_before = spec.dest if live.present else f"{spec.dest} (absent)"
    if live.present and live.mode != spec.mode:
        header_before += f" mode {live.mode:04o}"
    header_after = f"{spec.dest} mode {spec.mode:04o}" if live.mode != spec.mode else spec.dest
    return {"before_header": header_before, "after_header": header_after,
            "before": before, "after": after}


# --------------------------------------------------------------------------
# Low-level writes. Every durable step of a transaction goes through one of
# these helpers, and each calls _crash_point first: the crash-consistency seam.


def _crash_point(step: str) -> None:
    """Called just before each durable step (write, fsync, rename, unlink, journal update).

    A no-op. tests/unit/module_utils/test_fleet_overlay_crash.py replaces it to
    kill the process at each step in turn (then checks what recovery makes of
    it), or to make that step fail (ENOSPC, EROFS). ``step`` names the action
    and the path: "rename /a/.x.golden-state-new onto /a/x".
    """


@contextlib.contextmanager
def _step(action: str, path: str) -> Iterator[None]:
    """One durable step on ``path``: the crash seam, then the work. An OSError that names
    no file (a full disk's write or fsync error) is raised again naming ``path``."""
    try:
        _crash_point(f"{action} {path}")
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, path) from None
        raise


def _rename(src: str, dst: str) -> None:
    with _step(f"rename {src} onto", dst):
        os.replace(src, dst)


def _unlink(path: str) -> None:
    with _step("unlink", path):
        os.unlink(path)


def _rmtree(path: str) -> None:
    with _step("remove", path):
        shutil.rmtree(path)


def _fsync_dir(path: str) -> None:
    with _step("fsync directory", path):
        fsync_dir(path)


def tmp_path(dest: str) -> str:
    directory, base = os.path.split(dest)
    return os.path.join(directory, f".{base}{TMP_SUFFIX}")


def _write_tmp(path: str, data: bytes, mode: int, uid: int | None, gid: int | None) -> None:
    if os.path.lexists(path):
        _unlink(path)
    with _step("write", path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        with os.fdopen(fd, "wb") as handle:
            if uid is not None or gid is not None:
                os.fchown(handle.fileno(), -1 if uid is None else uid,
                          -1 if gid is None else gid)
            os.fchmod(handle.fileno(), mode)  # after chown: chown clears setuid bits
            handle.write(data)
            handle.flush()
            _crash_point(f"fsync {path}")
            os.fsync(handle.fileno())


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write_file(path: str, data: bytes) -> None:
    """atomic_write (0600) with a crash point before the write and before the rename."""
    with _step("write", path):
        atomic_write(path, data, 0o600,
                     before_replace=lambda tmp: _crash_point(f"rename into place {path}"))


def _write_json(path: str, data: Any) -> None:
    _write_file(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def _read_json(path: str) -> Any:
    raw = _read_bytes(path)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise OverlayError(f"{path}: corrupt state file (not JSON); inspect it and remove "
                           f"it to continue") from None


# --------------------------------------------------------------------------
# The store: snapshots, journal, known-good


@dataclass
class Snapshot:
    id: str
    created: str
    reason: str
    files: list[dict] = field(default_factory=list)
    signatures: dict | None = None  # {source: [pubkey hex]}; None: not recorded

    def fingerprint(self) -> list[tuple]:
        return sorted((f["dest"], f["present"], f.get("sha256"), f.get("mode"), f.get("uid"),
                       f.get("gid")) for f in self.files)


class OverlayStore:
    """Root-owned overlay state under ``root`` (default /var/lib/golden-state/overlay)."""

    def __init__(self, root: str = DEFAULT_STATE_DIR):
        self.root = root
        self.snapshot_dir = os.path.join(root, "snapshots")
        self.journal_path = os.path.join(root, "journal.json")
        self.state_path = os.path.join(root, "state.json")
        self.known_good_path = os.path.join(root, KNOWN_GOOD)
        self.audit_path = os.path.join(root, "audit.jsonl")

    # -- layout
    def ensure(self) -> None:
        for path in (self.root, self.snapshot_dir):
            if os.path.isdir(path) and os.stat(path).st_mode & 0o7777 == 0o700:
                continue
            with _step("create directory", path):
                os.makedirs(path, mode=0o700, exist_ok=True)
                os.chmod(path, 0o700)

    def _state(self) -> dict:
        state = _read_json(self.state_path) or {}
        if not isinstance(state, dict):
            raise OverlayError(f"{self.state_path}: corrupt state file (not a JSON object); "
                               f"inspect it and remove it to continue")
        return state

    def managed(self) -> list[dict]:
        return list(self._state().get("files", []))

    def signatures(self) -> dict | None:
        """Who signed the applied overlay, ``{source: [pubkey hex]}``; None when unknown."""
        return self._state().get("signatures")

    @staticmethod
    def state_doc(metas: list[dict], signatures: dict | None) -> dict:
        """state.json's content for a managed set and its signers."""
        state: dict[str, Any] = {"files": metas}
        if signatures is not None:
            state["signatures"] = signatures
        return state

    def save_state(self, metas: list[dict], signatures: dict | None) -> None:
        _write_json(self.state_path, self.state_doc(metas, signatures))

    def save_managed(self, metas: list[dict]) -> None:
        """Record the managed set, keeping the recorded signatures."""
        self.save_state(metas, self.signatures())

    # -- snapshots
    def snapshot_ids(self) -> list[str]:
        try:
            names = os.listdir(self.snapshot_dir)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if _SNAPSHOT_ID.match(n))

    def load_snapshot(self, snap_id: str) -> Snapshot:
        if not _SNAPSHOT_ID.match(snap_id or ""):
            raise OverlayError(f"{snap_id!r}: not a snapshot id (see `golden-state-overlay list`)")
        manifest = _read_json(os.path.join(self.snapshot_dir, snap_id, "manifest.json"))
        if manifest is None:
            raise OverlayError(f"snapshot {snap_id}: not found under {self.snapshot_dir}")
        try:
            files = manifest["files"]
            if not isinstance(files, list) or not all(
                    isinstance(f, dict) and "dest" in f and "present" in f for f in files):
                raise TypeError
            return Snapshot(manifest["id"], manifest["created"], manifest.get("reason", ""),
                            files, manifest.get("signatures"))
        except (KeyError, TypeError):
            raise OverlayError(f"snapshot {snap_id}: manifest.json is damaged (missing or "
                               f"malformed fields)") from None

    def snapshot_content(self, snap_id: str, entry: dict) -> bytes:
        data = _read_bytes(os.path.join(self.snapshot_dir, snap_id, "files", entry["blob"]))
        if data is None or sha256(data) != entry["sha256"]:
            raise OverlayError(f"snapshot {snap_id}: stored copy of {entry['dest']} is missing "
                               f"or damaged")
        return data

    def _next_id(self) -> str:
        ids = self.snapshot_ids()
        seq = int(_SNAPSHOT_ID.match(ids[-1]).group(1)) + 1 if ids else 1
        return f"{seq:06d}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"

    def take_snapshot(self, lives: list[LiveFile], reason: str,
                      secrets: set[str] | frozenset = frozenset(),
                      signatures: dict | None = None) -> str:
        """Copy the live files into a new snapshot (written aside, then renamed in).

        ``signatures`` (who signed the set, ``{source: [pubkey hex]}``) goes into
        the manifest only when known (not None).
        """
        self.ensure()
        self._sweep()
        snap_id = self._next_id()
        staging = os.path.join(self.snapshot_dir, f".staging-{snap_id}")
        try:
            with _step("create directory", staging):
                os.makedirs(os.path.join(staging, "files"), mode=0o700)
            files = []
            for index, live in enumerate(lives):
                entry = {"dest": live.dest, "present": live.present,
                         "secret": live.dest in secrets}
                if live.present:
                    blob = str(index)
                    _write_tmp(os.path.join(staging, "files", blob), live.content, 0o600,
                               None, None)
                    entry.update(sha256=sha256(live.content), mode=live.mode, uid=live.uid,
                                 gid=live.gid, blob=blob, size=len(live.content))
                files.append(entry)
            manifest = {"id": snap_id, "reason": reason, "files": files,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            if signatures is not None:
                manifest["signatures"] = signatures
            _write_json(os.path.join(staging, "manifest.json"), manifest)
            _fsync_dir(staging)
            _rename(staging, os.path.join(self.snapshot_dir, snap_id))
        except Exception:
            shutil.rmtree(staging, ignore_errors=True)  # a failed write (full disk) leaves none
            raise
        _fsync_dir(self.snapshot_dir)
        return snap_id

    def _sweep(self) -> None:
        """Remove what a killed run left in snapshots/: a half-written ``.staging-*`` or a
        half-deleted ``.deleting-*`` directory (neither is a snapshot: their names do not
        match a snapshot id, so nothing reads them)."""
        try:
            names = os.listdir(self.snapshot_dir)
        except FileNotFoundError:
            return
        for name in sorted(names):
            if name.startswith((".staging-", ".deleting-")):
                _rmtree(os.path.join(self.snapshot_dir, name))

    def rotate(self, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` snapshots.

        The known-good one always stays, and so does every snapshot judged
        unusable (kept for forensics; they do not count toward ``keep``).
        """
        keep = max(int(keep), 1)
        self._sweep()
        protected = self.known_good()
        ids = [i for i in self.snapshot_ids() if not self._kept_for_forensics(i)]
        removed = []
        for snap_id in ids[:-keep] if len(ids) > keep else []:
            if snap_id != protected:
                # Renamed out of the listing first: a run killed while deleting leaves a
                # .deleting-* directory (swept next time), never a half-deleted snapshot.
                trash = os.path.join(self.snapshot_dir, f".deleting-{snap_id}")
                _rename(os.path.join(self.snapshot_dir, snap_id), trash)
                _rmtree(trash)
                removed.append(snap_id)
        if removed:
            _fsync_dir(self.snapshot_dir)
        return removed

    def _kept_for_forensics(self, snap_id: str) -> bool:
        """Judged unusable (or a verdict that cannot be read: never delete on a doubt)."""
        try:
            verdict = self.verdict(snap_id)
        except OverlayError:
            return True
        return verdict is not None and verdict["usable"] is False

    # -- verdicts (written by fleet.snapshot_judge; manifests stay immutable)
    def verdict_path(self, snap_id: str) -> str:
        if not _SNAPSHOT_ID.match(snap_id or ""):
            raise OverlayError(f"{snap_id!r}: not a snapshot id (see `golden-state-overlay list`)")
        return os.path.join(self.snapshot_dir, snap_id, "verdict.json")

    def verdict(self, snap_id: str) -> dict | None:
        """The snapshot's latest verdict (``usable``, ``reasons``, ``rules``...); None: never
        judged. A verdict.json that cannot be read raises OverlayError naming it."""
        path = self.verdict_path(snap_id)
        data = _read_json(path)
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("usable"), bool):
            raise OverlayError(f"{path}: corrupt verdict (no usable: true/false); run "
                               f"`golden-state-overlay judge` (a converge does) to judge the "
                               f"snapshot again")
        return data

    def set_verdict(self, snap_id: str, verdict: dict) -> None:
        """Write the snapshot's verdict atomically (0600)."""
        if not isinstance(verdict, dict) or not isinstance(verdict.get("usable"), bool):
            raise OverlayError(f"snapshot {snap_id}: a verdict needs usable: true/false")
        path = self.verdict_path(snap_id)
        if not os.path.isdir(os.path.dirname(path)):  # a damaged one (no manifest) is judged too
            raise OverlayError(f"snapshot {snap_id}: not found under {self.snapshot_dir}")
        _write_json(path, verdict)

    # -- known-good
    def known_good(self) -> str | None:
        raw = _read_bytes(self.known_good_path)
        value = raw.decode().strip() if raw else ""
        return value or None

    def mark_known_good(self) -> tuple[str, bool]:
        """Record the live set as known-good: (snapshot id, whether a snapshot was taken)."""
        self.recover()
        managed = self.managed()
        if not managed:
            raise OverlayError(f"nothing to mark: no overlay has been applied yet "
                               f"({self.state_path} lists no files)")
        lives = [read_live(m["dest"]) for m in managed]
        secrets = {m["dest"] for m in managed if m.get("secret")}
        probe = Snapshot("", "", "", [_live_entry(live) for live in lives])
        for snap_id in reversed(self.snapshot_ids()):
            # An unusable or damaged snapshot is not reused (it may lack the
            # signature record the live set has): a fresh one is taken instead.
            if self._kept_for_forensics(snap_id):
                continue
            try:
                same = self.load_snapshot(snap_id).fingerprint() == probe.fingerprint()
            except OverlayError:
                continue
            if same:
                _write_file(self.known_good_path, (snap_id + "\n").encode())
                return snap_id, False
        snap_id = self.take_snapshot(lives, "known-good", secrets, self.signatures())
        _write_file(self.known_good_path, (snap_id + "\n").encode())
        return snap_id, True

    # -- transactions
    def recover(self) -> str | None:
        """Finish or undo an interrupted transaction: "completed", "rolled-back" or None.

        Idempotent: a run killed while recovering leaves the journal, and the
        next call carries on (a rollback once begun is recorded in the journal
        and never turned into a completion).
        """
        journal = self._journal()
        if journal is None:
            return None
        entries = journal["entries"]
        intact = journal.get("phase") == "commit" and all(_entry_ready(e) for e in entries)
        return self._resolve(journal, forward=intact)

    def _journal(self) -> dict | None:
        """journal.json, checked: OverlayError names it when it is damaged."""
        journal = _read_json(self.journal_path)
        if journal is None:
            return None
        entries = journal.get("entries") if isinstance(journal, dict) else None
        if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("dest"), str)
                and isinstance(e.get("tmp"), str) and "sha256" in e for e in entries):
            raise OverlayError(f"{self.journal_path}: damaged journal (no list of entries with "
                               f"dest, tmp and sha256); inspect it and the files it names, "
                               f"then remove it to continue")
        return journal

    def _resolve(self, journal: dict, forward: bool) -> str:
        """Complete the journal's transaction (``forward``) or restore the set it replaced;
        then delete the journal: the transaction's last step."""
        if forward:
            _finish(journal["entries"])
            self._put_state(journal, "after")
            outcome = "completed"
        else:
            if journal.get("phase") != "rollback":
                journal["phase"] = "rollback"
                _write_json(self.journal_path, journal)
            self._restore_before(journal)
            self._put_state(journal, "before")
            outcome = "rolled-back"
        _unlink(self.journal_path)
        _fsync_dir(self.root)
        return outcome

    def _put_state(self, journal: dict, which: str) -> None:
        """state.json as the journal recorded it ``before`` or ``after`` the transaction
        (a transaction that changes no state record carries none)."""
        state = journal.get("state")
        if not isinstance(state, dict) or which not in state:
            return
        if isinstance(state[which], dict):
            _write_json(self.state_path, state[which])
        elif state[which] is None and os.path.lexists(self.state_path):
            _unlink(self.state_path)  # there was none before

    def _restore_before(self, journal: dict) -> None:
        snap_id = journal.get("snapshot")
        snap = self.load_snapshot(snap_id) if snap_id else None
        before = {e["dest"]: e for e in (snap.files if snap else [])}
        for entry in journal["entries"]:
            dest = entry["dest"]
            old = before.get(dest)
            if old and old["present"]:
                data = self.snapshot_content(snap_id, old)
                _write_tmp(entry["tmp"], data, old["mode"], old["uid"], old["gid"])
                _rename(entry["tmp"], dest)
            else:
                if os.path.lexists(entry["tmp"]):
                    _unlink(entry["tmp"])
                if os.path.lexists(dest):
                    _unlink(dest)
            _fsync_dir(os.path.dirname(dest))

    def commit(self, specs: list[FileSpec], removals: list[str], snap_id: str | None,
               state: dict | None = None) -> None:
        """Replace the live files with ``specs`` (and delete ``removals``) as one transaction.

        ``state``: the state.json that goes with the new set (None: unchanged); it
        is written inside the transaction, so the record of who signed the live
        set never disagrees with it. The transaction commits when the journal is
        deleted. An OSError before that (a full disk, a read-only file system)
        restores the old set at once and is raised again; a killed run leaves the
        journal for ``recover``.
        """
        self.ensure()
        entries = [{"dest": s.dest, "tmp": tmp_path(s.dest), "sha256": sha256(s.content)}
                   for s in specs]
        entries += [{"dest": d, "tmp": tmp_path(d), "sha256": None} for d in removals]
        journal: dict[str, Any] = {"phase": "commit", "snapshot": snap_id, "entries": entries}
        if state is not None:
            journal["state"] = {"before": _read_json(self.state_path), "after": state}
        try:
            for spec, entry in zip(specs, entries, strict=False):
                _write_tmp(entry["tmp"], spec.content, spec.mode, spec.uid, spec.gid)
            for directory in sorted({os.path.dirname(e["dest"]) for e in entries}):
                _fsync_dir(directory)
            _write_json(self.journal_path, journal)
            _finish(entries)
            self._put_state(journal, "after")
        except OSError:  # anything else is treated as a crash: the journal stays for recover
            self._abort(journal)
            raise
        _unlink(self.journal_path)
        _fsync_dir(self.root)

    def _abort(self, journal: dict) -> None:
        """After a failed step: restore the old set if the journal was written, else remove
        the temp files. Best effort: what fails here is left to the next ``recover``."""
        with contextlib.suppress(OSError, OverlayError):
            if os.path.exists(self.journal_path):
                self._resolve(journal, forward=False)
                return
            for entry in journal["entries"]:
                if os.path.lexists(entry["tmp"]):
                    _unlink(entry["tmp"])

    def apply(self, specs: list[FileSpec], keep: int = DEFAULT_KEEP, check: bool = False,
              reason: str = "converge", signatures: dict | None = None) -> dict:
        """Bring the live set to ``specs``; snapshot the old set first. Returns a report.

        ``signatures``: who signed the new set (``{source: [pubkey hex]}``, None
        when unknown). The snapshot of the old set carries the old set's record;
        state.json then holds the new one.
        """
        recovered = None if check else self.recover()
        lives = {s.dest: read_live(s.dest) for s in specs}
        report_files, diffs, to_write = [], [], []
        for spec in specs:
            live = lives[spec.dest]
            diff = differences(spec, live)
            report_files.append({"dest": spec.dest, "changed": bool(diff), "differences": diff,
                                 "secret": spec.secret, "sha256": sha256(spec.content)})
            if diff:
                to_write.append(spec)
                diffs.append(file_diff(spec, live))
        metas = [s.meta() for s in specs]
        state_changed = not check and (self.managed() != metas
                                       or self.signatures() != signatures)
        snap_id = None
        removed: list[str] = []
        if to_write and not check:
            old_set = [lives[s.dest] for s in specs]
            if any(live.present for live in old_set):  # a fresh host has nothing to keep
                snap_id = self.take_snapshot(old_set, reason,
                                             {s.dest for s in specs if s.secret},
                                             self.signatures())
            # Rotation before the commit (the new snapshot is the newest, never rotated):
            # a failure here leaves the old set live, and nothing runs after the commit.
            removed = self.rotate(keep)
            self.commit(to_write, [], snap_id,
                        self.state_doc(metas, signatures) if state_changed else None)
        elif state_changed:
            self.ensure()
            self.save_state(metas, signatures)
        return {
            "changed": bool(to_write) or bool(recovered),
            "files": report_files,
            "diff": diffs,
            "snapshot": snap_id,
            "rotated": removed,
            "recovered": recovered,
            "restart_required": any(s.restart for s in to_write) or bool(recovered),
        }

    def rollback(self, target: str = KNOWN_GOOD, force_reason: str | None = None) -> dict:
        """Restore a snapshot (or the known-good one) byte for byte, as one transaction.

        A snapshot judged unusable is refused (UnusableSnapshot) unless
        ``force_reason`` says why it must be restored anyway; the override is
        appended to audit.jsonl and the result carries ``forced``. A snapshot
        never judged is not refused.
        """
        self.recover()
        if target == KNOWN_GOOD:
            snap_id = self.known_good()
            if snap_id is None:
                raise OverlayError(f"no known-good snapshot recorded ({self.known_good_path} "
                                   f"is missing); nothing to roll back to. Mark one with "
                                   f"`golden-state-overlay mark-known-good` while the harness "
                                   f"is healthy, or name a snapshot from `list`.")
        else:
            snap_id = target
        snap = self.load_snapshot(snap_id)
        verdict = self.verdict(snap_id)
        forced = None
        if verdict is not None and verdict["usable"] is False:
            if force_reason is None:
                raise UnusableSnapshot(snap_id, verdict, self.audit_path)
            forced = str(force_reason).strip()
            if not forced:
                raise OverlayError(f"snapshot {snap_id}: forcing the rollback of an unusable "
                                   f"snapshot needs a reason (it is recorded)")
        specs, removals = [], []
        for entry in snap.files:
            if entry["present"]:
                specs.append(FileSpec(entry["dest"], self.snapshot_content(snap_id, entry),
                                      entry["mode"], entry["uid"], entry["gid"],
                                      entry.get("secret", False)))
            elif os.path.lexists(entry["dest"]):
                removals.append(entry["dest"])
        lives = [read_live(s.dest) for s in specs] + [read_live(d) for d in removals]
        todo = [s for s in specs if differences(s, read_live(s.dest))]
        extra = {}
        if forced is not None:
            self._audit(snap_id, verdict, forced)
            extra["forced"] = forced
        if not todo and not removals:
            return {"changed": False, "snapshot": snap_id, "saved": None, **extra}
        saved = None
        if any(live.present for live in lives):
            saved = self.take_snapshot(lives, f"before rollback to {snap_id}",
                                       {s.dest for s in specs if s.secret}, self.signatures())
        state = None
        if os.path.exists(self.state_path):  # the live set is now the snapshot's: its signers
            state = self.state_doc(self.managed(), snap.signatures)
        self.commit(todo, removals, saved, state)
        return {"changed": True, "snapshot": snap_id, "saved": saved,
                "files": [s.dest for s in todo] + removals, **extra}

    def _audit(self, snap_id: str, verdict: dict, reason: str) -> None:
        """Append the forced rollback of an unusable snapshot to audit.jsonl (0600)."""
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "event": "forced_rollback", "snapshot": snap_id,
                 "verdict_reasons": verdict.get("reasons") or [],
                 "verdict_rules": verdict.get("rules") or [],
                 "verdict_judged": verdict.get("judged"),
                 "reason": reason, "uid": os.getuid(),
                 "sudo_user": os.environ.get("SUDO_USER")}
        self.ensure()
        fd = os.open(self.audit_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def status(self) -> dict:
        """Managed files with their live digest, whether they match the known-good set, and
        each snapshot's verdict (``usable`` true/false, or null when never judged)."""
        known = self.known_good()
        known_files = {}
        if known:
            try:
                known_files = {f["dest"]: f for f in self.load_snapshot(known).files}
            except OverlayError:
                known_files = {}
        files = []
        for meta in self.managed():
            live = read_live(meta["dest"])
            digest = sha256(live.content) if live.present else None
            kg = known_files.get(meta["dest"])
            files.append({"dest": meta["dest"], "present": live.present, "sha256": digest,
                          "matches_known_good": bool(kg) and kg.get("sha256") == digest
                          and kg["present"] == live.present})
        return {"state_dir": self.root, "known_good": known, "files": files,
                "pending_transaction": os.path.exists(self.journal_path),
                "snapshots": [self.verdict_summary(i) for i in self.snapshot_ids()]}

    def verdict_summary(self, snap_id: str) -> dict:
        """``{"id", "usable" (true/false/null: never judged), "reasons"}``; an unreadable
        verdict counts as unusable, its reason says why."""
        try:
            verdict = self.verdict(snap_id)
        except OverlayError as exc:
            return {"id": snap_id, "usable": False, "reasons": [str(exc)]}
        if verdict is None:
            return {"id": snap_id, "usable": None, "reasons": []}
        return {"id": snap_id, "usable": verdict["usable"],
                "reasons": list(verdict.get("reasons") or [])}


def _live_entry(live: LiveFile) -> dict:
    entry = {"dest": live.dest, "present": live.present}
    if live.present:
        entry.update(sha256=sha256(live.content), mode=live.mode, uid=live.uid, gid=live.gid)
    return entry


def _entry_ready(entry: dict) -> bool:
    """The new version of this file is either renamed already or intact in its temp file."""
    if entry["sha256"] is None:
        return True
    for path in (entry["tmp"], entry["dest"]):
        data = _read_bytes(path)
        if data is not None and sha256(data) == entry["sha256"]:
            return True
    return False


def _finish(entries: list[dict]) -> None:
    """Rename every remaining temp file into place (and delete removals)."""
    for entry in entries:
        if entry["sha256"] is None:
            if os.path.lexists(entry["dest"]):
                _unlink(entry["dest"])
        elif os.path.lexists(entry["tmp"]):
            data = _read_bytes(entry["tmp"])
            if data is not None and sha256(data) == entry["sha256"]:
                _rename(entry["tmp"], entry["dest"])
            else:
                _unlink(entry["tmp"])
    for directory in sorted({os.path.dirname(e["dest"]) for e in entries}):
        _fsync_dir(directory)
