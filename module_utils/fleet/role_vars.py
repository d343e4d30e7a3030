# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role-variable typo guard: find variables that carry a role's prefix but
that no ``meta/argument_specs.yml`` declares.

Pure Python (standard library; PyYAML to read the specs). Used by the
``role_variables`` module in the site pre-flight.

Vocabulary
----------
* Every role directory with ``meta/argument_specs.yml`` owns the prefix
  ``<role>_``; the names it *declares* are the option names of all its entry
  points. A name carries a role's prefix when it starts with it; the longest
  matching prefix wins (``golden_state_x`` belongs to ``golden_state``, not
  to a role ``golden``).
* Extra spec files (same shape, for example ``playbooks/site.argument_specs.yml``)
  declare fleet-wide names that carry a role prefix but are consumed by the
  site playbook or by several roles; each is added to the set of its prefix.
* ``fleet_`` (FLEET_PREFIX) is the fleet-wide prefix, no role's: a ``fleet_``
  name is declared when any loaded spec (a role's input, or an extra spec)
  declares it, so a misspelt layout path is caught like a role variable.
  Other names without a prefix are never checked.
* Names beginning with ``__`` are internal to a role and never checked.
* A name is *undeclared* when it carries a role prefix, is declared by no
  loaded spec and matches no allowlist entry ``{name: exact-or-glob, reason}``.

Nothing here ever reads, keeps or returns a variable's value: ``find_sources``
matches key names line by line and returns file paths only, and reads no more
than the header of a Vault-encrypted file.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from .files import ReadError, read_text

SPEC_NAMES = ("argument_specs.yml", "argument_specs.yaml")
VAULT_HEADER = "$ANSIBLE_VAULT;"
NOT_FOUND = "not found in the searched inventory: extra vars or a task?"
MAYBE = "possibly set in "  # how a file that cannot be searched is noted
YAML_SUFFIXES = (".yml", ".yaml", ".json")
INI_SUFFIXES = (".ini",)
FIRST_YAML_LINE = re.compile(r"""^(["']?)[\w.-]+\1\s*:(?:\s|$)""")
SUGGESTIONS = 3
CUTOFF = 0.75


class RoleVarsError(ValueError):
    """Bad input (a spec file or an allowlist entry); the message names it."""


# The fleet-wide prefix (inventory/group_vars/all.yml), which no role owns.
FLEET_PREFIX = "fleet_"


@dataclass(frozen=True)
class AllowEntry:
    """One allowlist entry: an exact name or a glob, and why it is allowed."""

    name: str
    reason: str

    def matches(self, name: str) -> bool:
        return fnmatchcase(name, self.name)


@dataclass
class Undeclared:
    """A variable that carries ROLE's prefix but is declared nowhere."""

    name: str
    role: str
    suggestions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "suggestions": list(self.suggestions)}


def _yaml():
    try:
        import yaml
    except ImportError:
        raise RoleVarsError("reading argument specs needs PyYAML (pip install pyyaml)") from None
    return yaml


def spec_options(path: str) -> set[str]:
    """Option names over every entry point of one argument_specs-shaped file."""
    yaml = _yaml()
    try:
        # libyaml when present: the specs of every role are read on each converge.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(read_text(path, "argument specs"), Loader=loader)
    except ReadError as error:
        raise RoleVarsError(str(error)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise RoleVarsError(f"{path}: not valid YAML{where}") from None
    specs = document.get("argument_specs") if isinstance(document, Mapping) else None
    if not isinstance(specs, Mapping):
        raise RoleVarsError(f"{path}: expected a mapping with an 'argument_specs' mapping")
    names: set[str] = set()
    for entry, spec in specs.items():
        if not isinstance(spec, Mapping):
            raise RoleVarsError(f"{path}: argument_specs.{entry}: expected a mapping")
        options = spec.get("options") or {}
        if not isinstance(options, Mapping):
            raise RoleVarsError(f"{path}: argument_specs.{entry}.options: expected a mapping")
        names.update(str(name) for name in options)
    return names


def role_prefix(name: str, prefixes: Iterable[str]) -> str | None:
    """The longest prefix NAME starts with, or None; internal ``__`` names have none."""
    if name.startswith("__"):
        return None
    matching = [prefix for prefix in prefixes if name.startswith(prefix)]
    return max(matching, key=len) if matching else None


def load_declared(roles_dir: str, extra_spec_files: Iterable[str] = ()) -> dict[str, set[str]]:
    """``<role>_`` -> names declared for it, over every role with meta/argument_specs.yml.

    Names from EXTRA_SPEC_FILES join the set of their (longest) role prefix.
    A missing roles directory, an unreadable or malformed spec: RoleVarsError.
    """
    roles_dir = os.path.normpath(roles_dir)  # "playbooks/../roles" reads better as "roles"
    if not os.path.isdir(roles_dir):
        raise RoleVarsError(f"{roles_dir}: roles directory not found")
    declared: dict[str, set[str]] = {}
    for role in sorted(os.listdir(roles_dir)):
        meta = os.path.join(roles_dir, role, "meta")
        for spec_name in SPEC_NAMES:
            spec = os.path.join(meta, spec_name)
            if os.path.isfile(spec):
                declared.setdefault(f"{role}_", set()).update(spec_options(spec))
    fleet = {name for names in declared.values() for name in names
             if name.startswith(FLEET_PREFIX)}
    for path in extra_spec_files:
        for name in spec_options(path):
            prefix = role_prefix(name, declared)
            if prefix is not None:
                declared[prefix].add(name)
            elif name.startswith(FLEET_PREFIX):
                fleet.add(name)
    if fleet:  # the prefix exists once something declares a fleet-wide input
        declared[FLEET_PREFIX] = fleet
    for names in declared.values():
        names.difference_update({name for name in names if name.startswith("__")})
    return declared


def parse_allowlist(entries: Iterable[Any] | None) -> list[AllowEntry]:
    """Validate allowlist entries ({name, reason}); RoleVarsError names the bad entry."""
    parsed = []
    for index, entry in enumerate(entries or ()):
        if isinstance(entry, AllowEntry):
            parsed.append(entry)
            continue
        if not isinstance(entry, Mapping):
            raise RoleVarsError(f"allowlist[{index}]: expected a dict with 'name' and 'reason'")
        unknown = set(entry) - {"name", "reason"}
        if unknown:
            raise RoleVarsError(f"allowlist[{index}]: unknown keys {sorted(map(str, unknown))}; "
                                "an entry has only 'name' and 'reason'")
        values = {}
        for key in ("name", "reason"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                hint = " (say why this variable is allowed)" if key == "reason" else ""
                raise RoleVarsError(f"allowlist[{index}]: '{key}' must be a non-empty "
                                    f"string{hint}")
            values[key] = value.strip()
        parsed.append(AllowEntry(**values))
    return parsed


def prefixed(names: Iterable[str], declared: Mapping[str, set[str]]) -> list[str]:
    """The distinct NAMES that carry a role prefix (the ones the guard checks), sorted."""
    return sorted({name for name in names if role_prefix(name, declared) is not None})


def undeclared(names: Iterable[str], declared: Mapping[str, set[str]],
               allowlist: Iterable[Any] = ()) -> list[Undeclared]:
    """Every name with a role prefix that no loaded spec declares and no entry allows."""
    rules = parse_allowlist(allowlist)
    everything = set().union(*declared.values()) if declared else set()
    found = []
    for name in prefixed(names, declared):
        if name in everything or any(rule.matches(name) for rule in rules):
            continue
        prefix = role_prefix(name, declared)
        found.append(Undeclared(name=name, role=prefix[:-1],
                                suggestions=suggest(name, prefix, declared[prefix])))
    return found


def suggest(name: str, prefix: str, candidates: Iterable[str]) -> list[str]:
    """Up to three declared names close to NAME, best first.

    Compared without the shared prefix: ``golden_state_branch`` is not close to
    ``golden_state_schema`` just because both start with ``golden_state_``.
    """
    by_rest = {candidate[len(prefix):]: candidate for candidate in sorted(candidates)
               if candidate.startswith(prefix)}
    close = difflib.get_close_matches(name[len(prefix):], list(by_rest), n=SUGGESTIONS,
                                      cutoff=CUTOFF)
    return [by_rest[rest] for rest in close]


def _files(path: str) -> Iterable[str]:
    if os.path.isfile(path):
        yield path
        return
    for top, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            suffix = os.path.splitext(name)[1].lower()
            if not name.startswith(".") and (not suffix or suffix in YAML_SUFFIXES + INI_SUFFIXES):
                yield os.path.join(top, name)


def _is_yaml(path: str, text: str) -> bool:
    """YAML or INI? By suffix; a file without one (group_vars/all, hosts) by its first line."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in YAML_SUFFIXES + INI_SUFFIXES:
        return suffix in YAML_SUFFIXES
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";")):
            return stripped.startswith("---") or bool(FIRST_YAML_LINE.match(stripped))
    return True


def _display(path: str, root: str | None) -> str:
    absolute = os.path.abspath(path)
    if root:
        base = os.path.abspath(root)
        if absolute == base or absolute.startswith(base + os.sep):
            return os.path.relpath(absolute, base)
    return os.path.normpath(path)


def _is_vault(path: str) -> bool:
    with open(path, "rb") as handle:  # the header only: the rest is ciphertext
        return handle.read(64).lstrip().startswith(VAULT_HEADER.encode())


def find_sources(names: Iterable[str], search_paths: Iterable[str],
                 root: str | None = None) -> dict[str, list[str]]:
    """Name -> the files (under SEARCH_PATHS) that set it, by key name only.

    A YAML line ``NAME:`` (at any indentation: top level, or a host's or group's
    ``vars``) or an INI ``NAME=`` counts. Whole-file Vault-encrypted files and
    unreadable files cannot be searched: every name gets ``possibly set in
    vault-encrypted FILE`` (or ``unreadable FILE``). Paths under ROOT are shown
    relative to it. Missing search paths are skipped (attribution only).
    Values are never read into the result.
    """
    wanted = sorted(set(names))
    sources: dict[str, list[str]] = {name: [] for name in wanted}
    if not wanted:
        return sources
    alternatives = "|".join(re.escape(name) for name in wanted)
    yaml_key = re.compile(rf"""^\s*(["']?)({alternatives})\1\s*:(?:\s|$)""")
    ini_key = re.compile(rf"(?:^|\s)({alternatives})\s*=")
    seen = set()
    for search_path in search_paths:
        if not os.path.exists(search_path):
            continue
        for path in _files(search_path):
            if path in seen:
                continue
            seen.add(path)
            shown = _display(path, root)
            text, note = _read_unless_vault(path, shown)
            if note:
                for name in wanted:
                    sources[name].append(note)
                continue
            for name in sorted(_keys_set(text, _is_yaml(path, text), yaml_key, ini_key)):
                sources[name].append(shown)
    # files that set it first, then the ones that may
    return {name: sorted(found, key=lambda source: (source.startswith(MAYBE), source))
            for name, found in sources.items()}


def _read_unless_vault(path: str, shown: str) -> tuple[str, str | None]:
    """(text, None), or ("", note) for a file that cannot be searched."""
    try:
        if _is_vault(path):
            return "", f"{MAYBE}vault-encrypted {shown}"
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(), None
    except OSError:
        return "", f"{MAYBE}unreadable {shown}"


def _keys_set(text: str, is_yaml: bool, yaml_key: re.Pattern, ini_key: re.Pattern) -> set[str]:
    """The wanted names TEXT sets as keys (YAML ``NAME:`` or INI ``NAME=``)."""
    hits = set()
    for line in text.splitlines():
        if is_yaml:
            match = yaml_key.match(line)
            if match:
                hits.add(match.group(2))
        elif not line.lstrip().startswith(("#", ";")):
            hits.update(match.group(1) for match in ini_key.finditer(line))
    return hits


def format_undeclared(record: Undeclared, sources: Iterable[str] | None = None) -> str:
    """One line naming the variable, its role, where it is set and close names; never a value.

    SOURCES is this name's list from ``find_sources``; None when no source was searched.
    """
    owner = ("any role's or the site's argument specs" if record.role + "_" == FLEET_PREFIX
             else f"role {record.role}")
    line = f"{record.name}: not declared by {owner}"
    if sources is not None:
        sources = list(sources)
        plain = [source for source in sources if not source.startswith(MAYBE)]
        notes = [source for source in sources if source.startswith(MAYBE)]
        parts = ([f"set in {', '.join(plain)}"] if plain else []) + notes
        line += f" ({'; '.join(parts) or NOT_FOUND})"
    if record.suggestions:
        *first, last = record.suggestions
        line += f"; did you mean {', '.join(first) + ' or ' if first else ''}{last}?"
    return line
