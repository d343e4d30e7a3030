# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declared cron jobs: validation, rendering to /etc/cron.d files, convergence, drift.

Standard library only: the cron_jobs module runs this on the host's python3.
jsonschema is used when importable (controller, pull agent) as a second,
independent check against the published schema (JOB_SCHEMA); the built-in
checks below are complete on their own and produce the error messages.

Each job becomes one file ``<cron_dir>/<prefix><name>`` (default
``/etc/cron.d/golden-state-<name>``) carrying a marker line. A file counts as
managed only when its name has the prefix AND it holds the marker for that
name; nothing else in the directory, and no user crontab, is ever written.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .files import atomic_write, open_regular
from .providers import format_finding, scan_text
from .text import show as show_text
from .text import show_path


class CronValidationError(ValueError):
    """One or more declarations are invalid; ``errors`` holds one message each."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


# --- vocabulary ---------------------------------------------------------------

MACROS = ("@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight",
          "@hourly")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
JOB_FIELDS = ("name", "schedule", "command", "user", "environment", "state")
STATES = ("present", "absent")

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# Debian's cron ignores /etc/cron.d files whose names hold anything but these.
PREFIX_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?")
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
NUMBER_RE = re.compile(r"[0-9]{1,4}")  # bounded: int() of a huge digit string raises
# cron reads at most ~1000 bytes per command / environment line (MAX_COMMAND, MAX_ENVSTR).
MAX_COMMAND_BYTES = 900
MAX_ENV_BYTES = 900
MAX_SCHEDULE_CHARS = 200

MARKER = "# golden-state-cron-job: "
HEADER = (
    "# Managed by the wizard fleet golden-state repository (role cron_manager).\n"
    "# Do not edit: a converge overwrites this file, and removes it when the job\n"
    "# is no longer declared.\n"
)
FILE_MODE = 0o644
READ_LIMIT = 65536


@dataclass(frozen=True)
class FieldSpec:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_base: int = 0  # value of names[0]

    @property
    def span(self) -> int:
        return self.high - self.low


SCHEDULE_FIELDS = (
    FieldSpec("minute", 0, 59),
    FieldSpec("hour", 0, 23),
    FieldSpec("day-of-month", 1, 31),
    FieldSpec("month", 1, 12, MONTHS, 1),
    FieldSpec("day-of-week", 0, 7, DAYS, 0),
)

# The published contract (roles/cron_manager/files/jobs.schema.json is this, as JSON).
JOB_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.invalid/golden-state/cron-jobs.schema.json",
    "title": "cron_manager job declarations",
    "description": "A list of jobs, or a mapping whose 'jobs' key holds the list.",
    "$defs": {
        "job": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"},
                "schedule": {
                    "type": "string",
                    "maxLength": MAX_SCHEDULE_CHARS,
                    "anyOf": [
                        {"enum": list(MACROS)},
                        {"pattern": r"^ *[0-9A-Za-z*,/-]+( +[0-9A-Za-z*,/-]+){4} *$"},
                    ],
                },
                "command": {"type": "string", "minLength": 1, "pattern": r"^[^\x00-\x1f\x7f]+$"},
                "user": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?$"},
                "environment": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,127}$"},
                    "additionalProperties": {
                        "anyOf": [
                            {"type": "string", "pattern": r"^[^\x00-\x1f\x7f]*$"},
                            {"type": "integer"},
                        ],
                    },
                },
                "state": {"enum": list(STATES)},
            },
            "if": {"not": {"properties": {"state": {"const": "absent"}}, "required": ["state"]}},
            "then": {"required": ["name", "schedule", "command", "user"]},
        },
        "jobs": {"type": "array", "items": {"$ref": "#/$defs/job"}},
    },
    "anyOf": [
        {"$ref": "#/$defs/jobs"},
        {"type": "null"},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {"jobs": {"anyOf": [{"$ref": "#/$defs/jobs"}, {"type": "null"}]}},
        },
    ],
}


@dataclass(frozen=True)
class Job:
    """A validated job; ``origin`` names it in messages (``cron_manager_jobs[2] (name 'x')``)."""

    name: str
    schedule: str = ""
    command: str = ""
    user: str = ""
    environment: tuple[tuple[str, str], ...] = ()
    state: str = "present"
    origin: str = ""


# --- helpers ------------------------------------------------------------------

def show(value: Any) -> str:
    """Quote a value for a message, every unsafe character escaped (fleet.text.show).

    Never echoes a raw newline, bidi override or zero-width character: a
    message shows what the value holds.
    """
    if isinstance(value, str):
        text = value if len(value) <= 80 else value[:77] + "..."
        return "'" + show_text(text).replace("'", "\\'") + "'"
    return show_text(f"{type(value).__name__} {value!r}", 100)


# The one character rule for every field (names, schedules, users, environment,
# commands), on the controller and on the host alike: nothing that is invisible,
# reorders text or is whitespace other than the ASCII space.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                  "\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = frozenset("\u180e\u200b\u200c\u200d\u2060\ufeff")
_NO_BREAK = frozenset("\u00a0\u2007\u202f")
# Letters and marks that render as nothing (fillers, the combining grapheme joiner).
_BLANK = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")
_KIND = {"Cc": "control character", "Cs": "control character", "Zl": "control character",
         "Zp": "control character", "Cf": "format character", "Co": "private-use character",
         "Cn": "unassigned code point", "Zs": "Unicode space"}


def _char_kind(char: str) -> str | None:
    """What makes ``char`` unfit for a cron file ("bidi control"), or None when it is fine."""
    if char == " ":
        return None
    if char in _BIDI:
        return "bidi control"
    if char in _ZERO_WIDTH:
        return "zero-width character"
    if char in _NO_BREAK:
        return "non-breaking space"
    if char in _BLANK:
        return "invisible character"
    return _KIND.get(unicodedata.category(char))


def _bad_char(text: str, allow: str = "") -> str | None:
    """Describe the first character the rule refuses, or None.

    ``control character U+000A at offset 3``, ``bidi control U+202E
    (RIGHT-TO-LEFT OVERRIDE) at offset 0``, ``non-breaking space U+00A0
    (NO-BREAK SPACE) at offset 1``.
    """
    for index, char in enumerate(text):
        if char in allow:
            continue
        kind = _char_kind(char)
        if kind is not None:
            name = unicodedata.name(char, "")
            return (f"{kind} U+{ord(char):04X}{f' ({name})' if name else ''} "
                    f"at offset {index}")
    return None


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


# --- schedules ----------------------------------------------------------------

def _value(spec: FieldSpec, text: str) -> int:
    """One number or name of a field, range-checked."""
    if NUMBER_RE.fullmatch(text):
        number = int(text)
        if not spec.low <= number <= spec.high:
            raise ValueError(f"schedule {spec.name} '{text}' out of range {spec.low}-{spec.high}")
        return number
    lowered = text.lower()
    if spec.names and lowered in spec.names:
        return spec.names.index(lowered) + spec.names_base
    hint = f" or a name ({spec.names[0]}-{spec.names[-1]})" if spec.names else ""
    raise ValueError(f"schedule {spec.name} {show(text)} is not a number{hint}")


def _check_item(spec: FieldSpec, item: str) -> None:
    base, slash, step = item.partition("/")
    if slash and (not NUMBER_RE.fullmatch(step) or not 1 <= int(step) <= spec.span):
        raise ValueError(f"schedule {spec.name} step {show(step)} in {show(item)} must be a "
                         f"number between 1 and {spec.span}")
    if base == "*":
        return
    start, dash, end = base.partition("-")
    if not dash:
        if slash:
            raise ValueError(
                f"schedule {spec.name} {show(item)}: a step needs '*' or a range before it "
                f"(e.g. '*/{step}')")
        _value(spec, base)
        return
    if start == "" or end == "":
        raise ValueError(f"schedule {spec.name} range {show(base)} needs a start and an end")
    first, last = _value(spec, start), _value(spec, end)
    if first > last:
        raise ValueError(f"schedule {spec.name} range {show(base)} is reversed (start > end)")


def parse_schedule(schedule: Any) -> str:
    """Validate a schedule; return it normalised (single spaces). Raises CronValidationError."""
    try:
        return _parse_schedule(schedule)
    except ValueError as error:
        raise CronValidationError([str(error)]) from None


def _parse_schedule(schedule: Any) -> str:
    if not _is_str(schedule):
        raise ValueError(f"schedule must be a string, got {show(schedule)}")
    if len(schedule) > MAX_SCHEDULE_CHARS:
        raise ValueError(f"schedule is longer than {MAX_SCHEDULE_CHARS} characters")
    bad = _bad_char(schedule)
    if bad:
        raise ValueError(f"schedule contains a {bad}")
    text = schedule.strip(" ")
    if text.startswith("@"):
        if text not in MACROS:
            raise ValueError(f"schedule macro {show(text)} is unknown (known: {' '.join(MACROS)})")
        if text != schedule:  # the published schema's enum has no room for spaces
            raise ValueError(f"schedule {show(schedule)} has spaces around the macro; write "
                             f"'{text}'")
        return text
    fields = text.split()
    if len(fields) != len(SCHEDULE_FIELDS):
        raise ValueError(
            f"schedule {show(schedule)} has {len(fields)} fields, expected 5 (minute hour "
            f"day-of-month month day-of-week) or a macro ({', '.join(MACROS)})")
    for spec, text_field in zip(SCHEDULE_FIELDS, fields, strict=True):
        for item in text_field.split(","):
            if item == "":
                raise ValueError(f"schedule {spec.name} {show(text_field)} has an empty list item")
            _check_item(spec, item)
    return " ".join(fields)


# --- commands and environment -------------------------------------------------

def escape_command(command: str) -> str:
    """Escape '%' for cron, which turns an unescaped '%' into a newline (stdin)."""
    return command.replace("%", "\\%")


def check_command(command: Any) -> str:
    if not _is_str(command):
        raise ValueError(f"command must be a string, got {show(command)}")
    if not command.strip():
        raise ValueError("command is empty")
    bad = _bad_char(command)
    if bad:
        raise ValueError(f"command contains a {bad} (control characters could inject "
                         "crontab lines; invisible ones hide what runs)")
    if re.search(r"\\%", command):
        raise ValueError("command contains '\\%': write a plain '%' (cron_manager escapes every "
                         "'%' so the command runs exactly as declared)")
    if len(escape_command(command).encode("utf-8")) > MAX_COMMAND_BYTES:
        raise ValueError(f"command is longer than {MAX_COMMAND_BYTES} bytes")
    return command


def _quote_env(key: str, value: str) -> str:
    quote = '"' if '"' not in value else "'"
    return f"{key}={quote}{value}{quote}"


def check_environment(environment: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(environment, dict):  # None too: the schema wants a mapping when given
        raise ValueError(f"environment must be a mapping of NAME: value, got {show(environment)}")
    result = []
    for key, raw in environment.items():
        bad = _bad_char(key) if _is_str(key) else None
        if bad:
            raise ValueError(f"environment key {show(key)} contains a {bad}")
        if not _is_str(key) or not ENV_KEY_RE.fullmatch(key):
            raise ValueError(f"environment key {show(key)} is not a valid identifier "
                             "([A-Za-z_][A-Za-z0-9_]*)")
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            raise ValueError(f"environment {key} must be a string or an integer, got {show(raw)}")
        value = str(raw)
        bad = _bad_char(value)
        if bad:
            raise ValueError(f"environment {key} value contains a {bad}")
        if '"' in value and "'" in value:
            raise ValueError(f"environment {key} value holds both quote characters; cron "
                             "cannot represent it")
        if len(_quote_env(key, value).encode("utf-8")) > MAX_ENV_BYTES:
            raise ValueError(f"environment {key} is longer than {MAX_ENV_BYTES} bytes")
        result.append((key, value))
    return tuple(result)


def check_user(user: Any) -> str:
    bad = _bad_char(user) if _is_str(user) else None
    if bad:
        raise ValueError(f"user {show(user)} contains a {bad}")
    if not _is_str(user) or not USER_RE.fullmatch(user):
        raise ValueError(f"user {show(user)} is not a valid user name")
    return user


def check_name(name: Any) -> str:
    bad = _bad_char(name) if _is_str(name) else None
    if bad:
        raise ValueError(f"name {show(name)} contains a {bad}")
    if not _is_str(name) or not NAME_RE.fullmatch(name):
        raise ValueError(f"name {show(name)} must be 1-64 letters, digits, '_' or '-', starting "
                         "with a letter or digit (it becomes a file name)")
    return name


# --- declarations -------------------------------------------------------------

def definitions_jobs(raw: Any, label: str) -> list[Any]:
    """Jobs of a definitions file: a list, a {jobs: list} mapping, or empty."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, dict):
        extra = sorted(str(key) for key in raw if key != "jobs")
        if extra:
            raise CronValidationError([f"{label}: unknown top-level key(s) {', '.join(extra)} "
                                       "(expected 'jobs')"])
        raw = raw.get("jobs") or []
    if not isinstance(raw, list):
        raise CronValidationError([f"{label}: expected a list of jobs, got {show(raw)}"])
    return raw


def _check_job(raw: Any, where: str) -> tuple[Job | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"{where}: a job must be a mapping, got {show(raw)}"]
    name = raw.get("name")
    errors = []
    try:
        origin = f"{where} (name '{check_name(name)}')"
    except ValueError as error:
        origin = where  # keep checking the other fields: report everything at once
        errors.append(f"{where}: {error}")
    unknown = sorted(str(key) for key in raw if key not in JOB_FIELDS)
    if unknown:
        errors.append(f"{origin}: unknown field(s) {', '.join(unknown)} "
                      f"(allowed: {', '.join(JOB_FIELDS)})")
    state = raw.get("state", "present")
    if state not in STATES:
        errors.append(f"{origin}: state {show(state)} must be one of {', '.join(STATES)}")
    values: dict[str, Any] = {}
    checks: tuple[tuple[str, Callable[[Any], Any]], ...] = (
        ("schedule", _parse_schedule), ("command", check_command), ("user", check_user),
        ("environment", check_environment))
    for key, check in checks:
        if key not in raw:
            if state == "present" and key != "environment":
                errors.append(f"{origin}: {key} is required")
            continue
        try:
            values[key] = check(raw[key])
        except ValueError as error:
            errors.append(f"{origin}: {error}")
    if errors:
        return None, errors
    return Job(name=name, state=state, origin=origin, **values), []


def validate_jobs(sources: Iterable[tuple[str, Any]], use_schema: bool = True) -> list[Job]:
    """Validate every (label, job list) source; return the jobs or raise with ALL errors.

    Messages name the job and field: ``cron_manager_jobs[2] (name 'backup'): schedule
    minute '61' out of range 0-59``. Names must be unique across all sources.
    """
    jobs: list[Job] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for label, raw_list in sources:
        if raw_list is None:
            continue
        if not isinstance(raw_list, list):
            errors.append(f"{label}: expected a list of jobs, got {show(raw_list)}")
            continue
        for index, raw in enumerate(raw_list):
            where = f"{label}[{index}]"
            job, job_errors = _check_job(raw, where)
            if job is not None and use_schema:
                job_errors = _schema_errors(raw, job.origin)
            errors.extend(job_errors)
            if job is None or job_errors:
                continue
            if job.name in seen:
                errors.append(f"{job.origin}: name is declared twice (also {seen[job.name]})")
                continue
            seen[job.name] = where
            jobs.append(job)
    if errors:
        raise CronValidationError(errors)
    return jobs


def _schema_errors(raw: dict, origin: str) -> list[str]:
    """Second opinion from the published schema, where jsonschema is installed."""
    try:
        import jsonschema
    except ImportError:  # the host's python3: the built-in checks above are complete
        return []
    validator = jsonschema.Draft202012Validator(
        {**JOB_SCHEMA["$defs"]["job"], "$defs": JOB_SCHEMA["$defs"]})
    return [f"{origin}: {'.'.join(str(p) for p in error.absolute_path) or 'job'}: schema: "
            f"{error.message}" for error in validator.iter_errors(raw)]


def missing_users(jobs: Iterable[Job], user_exists: Callable[[str], bool]) -> list[str]:
    """Messages for present jobs whose user does not exist on this host."""
    return [f"{job.origin}: user '{job.user}' does not exist on this host"
            for job in jobs if job.state == "present" and not user_exists(job.user)]


# --- rendering ----------------------------------------------------------------

def render_job(job: Job) -> str:
    """The /etc/cron.d file of one job (cron.d format: schedule, user, command)."""
    lines = [HEADER.rstrip("\n"), f"{MARKER}{job.name}"]
    lines.extend(_quote_env(key, value) for key, value in job.environment)
    lines.append(f"{job.schedule} {job.user} {escape_command(job.command)}")
    return "\n".join(lines) + "\n"


def banned_job_lines(jobs: Iterable[Job], cron_dir: str, prefix: str, banned: Any) -> list[str]:
    """Banned-provider findings in each present job's file exactly as it would be written.

    One line per finding, naming the file and line (never the command's text).
    Raises ValueError for a malformed ``banned`` list.
    """
    scan_text("", banned)  # resolve the ban first: a malformed one fails even with no job
    lines = []
    for job in jobs:
        if job.state != "present":
            continue
        path = os.path.join(cron_dir, prefix + job.name)
        for finding in scan_text(render_job(job), banned):
            finding.file = path
            lines.append(format_finding(finding))
    return lines


# --- host state ---------------------------------------------------------------

@dataclass
class Entry:
    """A file in the cron directory: whether we own it, and its text."""

    path: str
    managed: bool
    text: str | None  # None: not a regular file or unreadable
    mode: int = 0
    uid: int = -1
    gid: int = -1


def _read(path: str) -> Entry:
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        return Entry(path, False, None)
    # open_regular: a FIFO swapped in after the lstat cannot block the read
    with os.fdopen(open_regular(path, follow_symlinks=False), "rb") as handle:
        data = handle.read(READ_LIMIT)
    text = data.decode("utf-8", errors="replace")
    return Entry(path, False, text, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)


def scan_dir(cron_dir: str, prefix: str) -> tuple[dict[str, Entry], list[Entry]]:
    """(managed files by job name, other files), skipping dotfiles (cron ignores them)."""
    managed: dict[str, Entry] = {}
    others: list[Entry] = []
    for name in sorted(os.listdir(cron_dir)):
        if name.startswith("."):
            continue
        entry = _read(os.path.join(cron_dir, name))
        # ours only with the prefix AND the marker naming this very job
        if name.startswith(prefix) and _marker_name(entry) == name[len(prefix):]:
            entry.managed = True
            managed[name[len(prefix):]] = entry
        else:
            others.append(entry)
    return managed, others


def _marker_name(entry: Entry) -> str | None:
    for line in (entry.text or "").splitlines()[:10]:
        if line.startswith(MARKER):
            return line[len(MARKER):].strip()
    return None


@dataclass
class Change:
    action: str  # create | update | remove
    name: str
    path: str
    before: str
    after: str


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan(jobs: list[Job], cron_dir: str, prefix: str, remove_undeclared: bool = True,
         owner: tuple[int, int] | None = None) -> Plan:
    """Compare declared jobs with the directory; nothing is written here.

    ``owner`` (uid, gid) is checked when given (as root: cron ignores cron.d files
    not owned by root).
    """
    managed, others = scan_dir(cron_dir, prefix)
    foreign = {os.path.basename(entry.path): entry for entry in others}
    result = Plan()
    declared = set()
    for job in jobs:
        declared.add(job.name)
        path = os.path.join(cron_dir, prefix + job.name)
        current = managed.get(job.name)
        if job.state == "absent":
            if current is not None:
                result.changes.append(Change("remove", job.name, path, current.text or "", ""))
            elif prefix + job.name in foreign:
                result.warnings.append(f"{job.origin}: {path} is not managed by cron_manager "
                                       "(no marker); left in place")
            continue
        wanted = render_job(job)
        if current is None:
            if prefix + job.name in foreign:
                result.conflicts.append(
                    f"{job.origin}: {path} exists but was not written by cron_manager; move it "
                    "away or rename the job")
                continue
            result.changes.append(Change("create", job.name, path, "", wanted))
        elif (current.text != wanted or current.mode != FILE_MODE
              or (owner is not None and (current.uid, current.gid) != owner)):
            result.changes.append(Change("update", job.name, path, current.text or "", wanted))
        else:
            result.unchanged.append(job.name)
    if remove_undeclared:
        for name, entry in managed.items():
            if name not in declared:
                result.changes.append(Change("remove", name, entry.path, entry.text or "", ""))
    return result


def apply_change(change: Change, owner: tuple[int, int] | None = None) -> None:
    """Carry out one change: an atomic write (mode 0644, owner when given) or an unlink."""
    if change.action == "remove":
        os.unlink(change.path)
    else:
        uid, gid = owner if owner is not None else (None, None)
        atomic_write(change.path, change.after.encode("utf-8"), FILE_MODE, uid, gid)


def apply(result: Plan, owner: tuple[int, int] | None = None) -> None:
    """Carry out a whole plan."""
    for change in result.changes:
        apply_change(change, owner)


def diffs(result: Plan) -> list[dict[str, str]]:
    return [{"before_header": change.path if change.action != "create" else "/dev/null",
             "after_header": change.path if change.action != "remove" else "/dev/null",
             "before": change.before, "after": change.after} for change in result.changes]


# --- drift report -------------------------------------------------------------

ENV_LINE_RE = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*=")


def cron_entries(text: str) -> list[str]:
    """Job lines of a crontab text (no comments, blank lines or environment settings).

    Lines end at "\n" only, as cron reads them: a NEL or U+2028 inside a line
    stays in it (and is shown escaped), never passes for a second line.
    """
    lines = (line.strip(" \t\r") for line in text.split("\n"))
    return [line for line in lines
            if line and not line.startswith("#") and not ENV_LINE_RE.match(line)]


# A job line of a file nobody declared is shown, never trusted: escaped, bounded.
SHOWN_ENTRY_CHARS = 400


def _shown(text: str | None) -> list[str]:
    """Job lines of a host's file for the drift report, unsafe characters escaped."""
    return [show_text(line, SHOWN_ENTRY_CHARS) for line in cron_entries(text or "")]


def drift(jobs: list[Job], cron_dir: str, prefix: str, spool_dir: str | None,
          owner: tuple[int, int] | None = None) -> dict[str, Any]:
    """Per-host drift: declared jobs missing/changed, stale managed files, unmanaged entries."""
    result = plan(jobs, cron_dir, prefix, True, owner)
    _managed, others = scan_dir(cron_dir, prefix)
    report: dict[str, Any] = {
        "missing": sorted(c.name for c in result.changes if c.action == "create"),
        "changed": sorted(c.name for c in result.changes if c.action == "update"),
        "stale": sorted(c.name for c in result.changes if c.action == "remove"),
        "conflicts": result.conflicts,
        "unmanaged_files": [{"path": show_path(e.path), "entries": _shown(e.text)}
                            for e in others],
        "user_crontabs": [],
    }
    if spool_dir and os.path.isdir(spool_dir):
        for user in sorted(os.listdir(spool_dir)):
            path = os.path.join(spool_dir, user)
            if user.startswith(".") or not os.path.isfile(path):
                continue
            entries = _shown(_read(path).text)
            if entries:
                report["user_crontabs"].append({"user": show_path(user), "path": show_path(path),
                                                "entries": entries})
    report["in_sync"] = not (report["missing"] or report["changed"] or report["stale"]
                             or report["conflicts"])
    return report
