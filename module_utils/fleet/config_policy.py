# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The harness config policy: what ``~/.hermes/config.yaml`` may say, beside its schema.

The JSON Schema judges shape (types, ranges, known keys). This policy judges
what the config *does*: where model traffic goes, whether secrets sit in it,
which speech engines it uses. Pure Python: standard library + PyYAML (imported
on first use). Used by ``overlay-check --policy`` and, through
``check_config_policy``, by the ``golden_state_overlay_check`` module.
See docs/config_policy.md.

Policy file (YAML, validated strictly: unknown keys, wrong types and
duplicate keys are refused with a ``PolicyError`` naming the file and field)::

    version: 1                       # required, must be 1
    endpoints:                       # required
      keys: [base_url, api_base, endpoint, url]   # key names (globs, any case)
      allow:                         # optional; hosts besides loopback / unix sockets
        - host: openrouter.ai        # exact name, IP address, or "*.suffix"
          reason: why this host may receive model traffic   # required, non-empty
          schemes: [https]           # optional, default [https]
    credentials:                     # required
      keys: [api_key, "*_api_key", token, ...]      # key names (globs, any case)
      value_patterns: ["^sk-[A-Za-z0-9_-]{16,}$"]   # optional regexes (re.search)
    speech:                          # optional; a missing list is not judged
      tts_providers: [edge, local]
      stt_providers: [local]

Rules (``Violation.rule``):

* ``endpoints.local_or_allowed``: a string under an endpoint key (or an item
  of a list under one) must be a local endpoint (http/https to ``localhost``,
  ``127.0.0.0/8``, ``::1`` or an IPv4-mapped loopback address; any ``unix:``
  or ``http+unix:`` URL) or match an allow entry by host and scheme. Hosts are
  compared lower-cased without one trailing dot; the host is the one a client
  connects to (``http://127.0.0.1@evil.example/`` goes to ``evil.example``).
  A value that is not a URL with a plain host (no scheme, empty or
  bracket-less IPv6 host, whitespace, control characters or backslashes,
  non-ASCII or percent-encoded names, bad port, numeric forms such as
  ``127.1`` or ``0x7f000001`` that resolvers read as addresses) is refused:
  what cannot be parsed cannot be judged. Empty strings are not set, not judged.
* ``credentials.no_inline``: a string or number under a credential key is
  refused, unless it is only a reference to an environment variable
  (``${NAME}``), or the key ends in ``_env`` and the value is a variable name
  (``api_key_env: OPENROUTER_API_KEY`` names where the secret is, it is not
  one). Secrets reach the host only through secret overlay files (0600).
* ``credentials.value_pattern``: any string anywhere matching one of
  ``value_patterns`` (a secret under an innocent key).
* ``credentials.url_password``: any string holding a URL with a password in
  its userinfo (``https://user:pass@host``).
* ``speech.tts_provider`` / ``speech.stt_provider``: ``tts.provider`` /
  ``stt.provider`` must be listed; an enabled section without a provider is
  refused too (the harness's implicit default is not something we approved).

Messages never show a credential value, only the key that carries one, and
show at most a short escaped excerpt of any other value.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .providers import format_path
from .strict_load import DocumentError, load_file, load_yaml

VERSION = 1
EXTRA_ALLOW_SOURCE = "golden_state_endpoint_allowlist"
DEFAULT_SCHEMES = ("https",)
LOCAL_SCHEMES = frozenset({"http", "https"})
UNIX_SCHEMES = frozenset({"unix", "http+unix"})
LOCAL_NAMES = frozenset({"localhost"})
EXCERPT = 40

_ENV_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")
_DOTTED_QUAD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}\Z")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*\Z")
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\\\u2028\u2029]")
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]*:[^/?#@\s]+@")
_MAX_HOST = 253


class PolicyError(Exception):
    """The policy (or an extra allow entry) is broken; the message names the file and field."""


# --------------------------------------------------------------------------
# Messages


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``'abc'`` quoted and escaped, at most ``limit`` characters of it (then ``...``)."""
    shown = "".join(c if c.isprintable() and c.isascii() else ascii(c)[1:-1]
                    for c in text[:limit]).replace("'", "\\'")
    return f"'{shown}'" + ("..." if len(text) > limit else "")


_YAML_WORDS = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})


def _yaml_scalar(text: str) -> str:
    """A host as the user should write it in YAML (quoted when plain would not do)."""
    if re.fullmatch(r"[a-z0-9_][a-z0-9_.-]*", text) and not re.fullmatch(r"[0-9.]+", text) \
            and text not in _YAML_WORDS:
        return text
    return '"' + text + '"'


@dataclass(frozen=True)
class Violation:
    """One refusal: where (file, path), which rule, what, and what would permit it."""

    file: str
    path: str
    rule: str
    message: str
    permit: str

    def __str__(self) -> str:
        return (f"{self.file}: {self.path or '$'}: {self.message} "
                f"(rule {self.rule}; to permit: {self.permit})")

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "rule": self.rule,
                "message": self.message, "permit": self.permit}


# --------------------------------------------------------------------------
# Endpoint classification


@dataclass(frozen=True)
class Endpoint:
    """What a URL points at: ``kind`` is "local", "remote" or "invalid"."""

    kind: str
    scheme: str = ""
    host: str = ""  # lower-case, no brackets, no trailing dot
    problem: str = ""  # why it is invalid
    userinfo: bool = False  # the URL has a user@ part (a classic way to disguise the host)

    @property
    def local(self) -> bool:
        return self.kind == "local"


def _invalid(problem: str, scheme: str = "") -> Endpoint:
    return Endpoint("invalid", scheme=scheme, problem=problem)


def _is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return mapped in ipaddress.IPv4Network("127.0.0.0/8")
        return address == ipaddress.IPv6Address("::1")
    return address in ipaddress.IPv4Network("127.0.0.0/8")


def normalise_host(host: str, bracketed: bool = False) -> tuple[str, str]:
    """(host, problem): a name lower-cased without one trailing dot, or a canonical IP.

    ``problem`` is non-empty when the host is not something we can judge.
    """
    if bracketed:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return "", "the bracketed host is not an IPv6 address"
        return str(address), ""
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        return "", "the URL has no host"
    if len(host) > _MAX_HOST:
        return "", "the host name is longer than 253 characters"
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return "", ("the host is not a plain ASCII name or address (write IPv6 in brackets, "
                    "international names in punycode, no percent-encoding)")
    if _NUMERIC_LABEL.match(labels[-1]):
        # Resolvers read such names as IPv4 in any of several notations; only a
        # canonical dotted quad is unambiguous.
        if not _DOTTED_QUAD.match(host):
            return "", "the host is an ambiguous numeric address (write a dotted-quad IPv4)"
        try:
            return str(ipaddress.IPv4Address(host)), ""
        except ValueError:
            return "", "the host is not a valid dotted-quad IPv4 address"
    return host, ""


def classify_endpoint(url: str) -> Endpoint:
    """Classify an endpoint URL as local, remote (with its host) or invalid. Never raises."""
    if not isinstance(url, str):
        return _invalid("the value is not a string")
    if _UNSAFE.search(url):
        return _invalid("the URL contains whitespace, control characters or a backslash")
    try:
        parts = urlsplit(url)
    except ValueError:
        return _invalid("the URL cannot be parsed")
    scheme = parts.scheme
    if not scheme or not _SCHEME.match(scheme):
        return _invalid("the value is not a URL (no scheme://host)")
    if scheme in UNIX_SCHEMES:
        return Endpoint("local", scheme=scheme)  # a socket path never leaves the host
    netloc = parts.netloc
    if not netloc:
        if "://" not in url:
            return _invalid("the value is not a URL (no scheme://host)", scheme)
        return _invalid("the URL has no host", scheme)
    hostport = netloc.rpartition("@")[2]
    bracketed = hostport.startswith("[")
    if bracketed and not re.fullmatch(r"\[[^\[\]]*\](?::[0-9]*)?", hostport):
        return _invalid("the URL has an invalid bracketed host", scheme)
    if not bracketed and ":" in hostport.rpartition(":")[0]:
        return _invalid("an IPv6 host must be written in brackets", scheme)
    try:
        raw_host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return _invalid("the URL has an invalid port", scheme)
    host, problem = normalise_host(raw_host or "", bracketed)
    if problem:
        return _invalid(problem, scheme)
    userinfo = "@" in netloc
    if scheme in LOCAL_SCHEMES:
        if host in LOCAL_NAMES:
            return Endpoint("local", scheme=scheme, host=host, userinfo=userinfo)
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and _is_loopback(address):
            return Endpoint("local", scheme=scheme, host=host, userinfo=userinfo)
    return Endpoint("remote", scheme=scheme, host=host, userinfo=userinfo)


def is_local_endpoint(url: str) -> bool:
    return classify_endpoint(url).local


# --------------------------------------------------------------------------
# The policy


@dataclass(frozen=True)
class AllowEntry:
    """A host permitted to receive model traffic, and why."""

    host: str  # normalised; "*.suffix" for a wildcard
    reason: str
    schemes: tuple[str, ...] = DEFAULT_SCHEMES
    where: str = ""  # e.g. "endpoints.allow[0] in policy.yml"

    def matches_host(self, host: str) -> bool:
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host


@dataclass
class Policy:
    name: str
    endpoint_keys: tuple[str, ...]
    allow: tuple[AllowEntry, ...] = ()
    credential_keys: tuple[str, ...] = ()
    value_patterns: tuple[tuple[str, re.Pattern[str]], ...] = ()
    tts_providers: tuple[str, ...] | None = None
    stt_providers: tuple[str, ...] | None = None
    version: int = VERSION


def _fail(name: str, where: str, problem: str) -> PolicyError:
    return PolicyError(f"{name}: {where}: {problem}")


def _mapping(value: Any, name: str, where: str, allowed: Iterable[str],
             required: Iterable[str] = ()) -> Mapping:
    if not isinstance(value, Mapping):
        raise _fail(name, where, f"expected a mapping, got {type(value).__name__}")
    allowed = tuple(allowed)
    for key in value:
        if key not in allowed:
            raise _fail(name, f"{where}.{key}" if where != "$" else str(key),
                        f"unknown key (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            raise _fail(name, f"{where}.{key}" if where != "$" else key, "missing (required)")
    return value


def _string(value: Any, name: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        got = "an empty string" if isinstance(value, str) else type(value).__name__
        raise _fail(name, where, f"expected a non-empty string, got {got}")
    return value.strip()


def _strings(value: Any, name: str, where: str, empty_ok: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(name, where, f"expected a list of strings, got {type(value).__name__}")
    if not value and not empty_ok:
        raise _fail(name, where, "expected at least one entry")
    return tuple(_string(item, name, f"{where}[{i}]") for i, item in enumerate(value))


def _host_pattern(value: Any, name: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        got = "an empty string" if isinstance(value, str) else type(value).__name__
        raise _fail(name, where, f"expected a host name (quote IP addresses), got {got}")
    text = value.strip()
    wildcard = text.startswith("*.")
    body = text[2:] if wildcard else text
    bracketed = body.startswith("[") and body.endswith("]")
    if bracketed:
        body = body[1:-1]
    elif ":" in body:
        bracketed = True  # a bare IPv6 address is fine in an allow entry
    host, problem = normalise_host(body, bracketed)
    if problem:
        raise _fail(name, where, f"{excerpt(text)}: {problem}")
    if wildcard:
        if bracketed or _DOTTED_QUAD.match(host):
            raise _fail(name, where, f"{excerpt(text)}: a wildcard needs a name, not an address")
        if "." not in host:
            raise _fail(name, where, f"{excerpt(text)}: a wildcard must keep at least two "
                                     f"labels (*.example.com, not *.com)")
        return "*." + host
    if "*" in text:
        raise _fail(name, where, f"{excerpt(text)}: only a leading '*.' wildcard is supported")
    return host


def parse_allow_entries(entries: Any, name: str, where: str = EXTRA_ALLOW_SOURCE,
                        location: str = "") -> tuple[AllowEntry, ...]:
    """Validate allow entries ``[{host, reason, schemes?}]``; PolicyError names the entry.

    ``location`` is appended to each entry's ``where`` (" in <policy file>").
    """
    if entries is None:
        return ()
    if not isinstance(entries, (list, tuple)):
        raise _fail(name, where, f"expected a list of {{host, reason}}, "
                                 f"got {type(entries).__name__}")
    out = []
    for index, entry in enumerate(entries):
        here = f"{where}[{index}]"
        if isinstance(entry, AllowEntry):
            out.append(entry)
            continue
        entry = _mapping(entry, name, here, ("host", "reason", "schemes"), ("host",))
        if "reason" not in entry or not isinstance(entry["reason"], str) \
                or not entry["reason"].strip():
            raise _fail(name, f"{here}.reason",
                        "missing or empty: every allowed host needs a reason")
        host = _host_pattern(entry["host"], name, f"{here}.host")
        schemes = DEFAULT_SCHEMES
        if "schemes" in entry:
            schemes = _strings(entry["schemes"], name, f"{here}.schemes")
            for i, scheme in enumerate(schemes):
                if not _SCHEME.match(scheme.lower()):
                    raise _fail(name, f"{here}.schemes[{i}]",
                                f"{excerpt(scheme)} is not a URL scheme")
            schemes = tuple(s.lower() for s in schemes)
        out.append(AllowEntry(host, entry["reason"].strip(), schemes, here + location))
    return tuple(out)


def _patterns(value: Any, name: str, where: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for index, text in enumerate(_strings(value, name, where, empty_ok=True)):
        try:
            out.append((f"{where}[{index}]", re.compile(text)))
        except re.error as exc:
            raise _fail(name, f"{where}[{index}]", f"invalid regular expression: {exc}") \
                from None
    return tuple(out)


def parse_policy(data: Any, name: str) -> Policy:
    """Validate a parsed policy document; PolicyError names ``name`` and the field."""
    doc = _mapping(data, name, "$", ("version", "endpoints", "credentials", "speech"),
                   ("version", "endpoints", "credentials"))
    version = doc["version"]
    if isinstance(version, bool) or version != VERSION:
        raise _fail(name, "version", f"unsupported version {excerpt(str(version))} "
                                     f"(this code reads version {VERSION})")
    endpoints = _mapping(doc["endpoints"], name, "endpoints", ("keys", "allow"), ("keys",))
    credentials = _mapping(doc["credentials"], name, "credentials",
                           ("keys", "value_patterns"), ("keys",))
    policy = Policy(
        name=name,
        endpoint_keys=tuple(k.lower()
                            for k in _strings(endpoints["keys"], name, "endpoints.keys")),
        allow=parse_allow_entries(endpoints.get("allow", []), name, "endpoints.allow",
                                  f" in {name}"),
        credential_keys=tuple(k.lower()
                              for k in _strings(credentials["keys"], name, "credentials.keys")),
        value_patterns=_patterns(credentials.get("value_patterns", []), name,
                                 "credentials.value_patterns"),
    )
    if "speech" in doc:
        speech = _mapping(doc["speech"], name, "speech", ("tts_providers", "stt_providers"))
        if "tts_providers" in speech:
            policy.tts_providers = _strings(speech["tts_providers"], name,
                                            "speech.tts_providers", empty_ok=True)
        if "stt_providers" in speech:
            policy.stt_providers = _strings(speech["stt_providers"], name,
                                            "speech.stt_providers", empty_ok=True)
    return policy


def load_policy_text(text: str, name: str) -> Policy:
    """Parse policy text strictly (fleet.strict_load: a second ``allow:`` must not hide
    the first), then validate it."""
    try:
        data = load_yaml(text, name, "policy")
    except DocumentError as exc:
        raise PolicyError(str(exc)) from None
    return parse_policy(data, name)


def load_policy(path: str) -> Policy:
    """Read and validate a policy file; PolicyError names the file and the field."""
    try:
        data = load_file(str(path), "policy", "yaml")
    except DocumentError as exc:
        raise PolicyError(str(exc)) from None
    return parse_policy(data, str(path))


# --------------------------------------------------------------------------
# Checking a config


def _key_matches(key: str | None, patterns: Iterable[str]) -> bool:
    if key is None:
        return False
    lowered = key.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in patterns)


class _Checker:
    def __init__(self, policy: Policy, name: str, allow: tuple[AllowEntry, ...]):
        self.policy = policy
        self.name = name
        self.allow = policy.allow + allow
        self.out: list[Violation] = []

    def add(self, parts: list[Any], rule: str, message: str, permit: str) -> None:
        self.out.append(Violation(self.name, format_path(parts), rule, message, permit))

    # -- the walk: every value with its path and the innermost string key above it
    def walk(self, value: Any, parts: list[Any], key: str | None, stack: set[int]) -> None:
        if isinstance(value, (Mapping, list)):
            if id(value) in stack:  # a YAML alias cycle: walked already
                return
            stack.add(id(value))
            if isinstance(value, Mapping):
                for child_key, child in value.items():
                    inner = child_key if isinstance(child_key, str) else None
                    self.walk(child, [*parts, child_key], inner, stack)
            else:  # list items count as values of the key holding the list
                for index, child in enumerate(value):
                    self.walk(child, [*parts, index], key, stack)
            stack.discard(id(value))
            return
        self.scalar(value, parts, key)

    def scalar(self, value: Any, parts: list[Any], key: str | None) -> None:
        credential_key = _key_matches(key, self.policy.credential_keys)
        if credential_key and self.inline_credential(value, key):
            self.add(parts, "credentials.no_inline",
                     f"key {excerpt(key or '')} carries an inline value (not shown)",
                     "put the secret in a secret overlay file (mode 0600) and refer to it by "
                     "environment variable (${NAME}, or api_key_env: NAME); if "
                     f"{excerpt(key or '')} is not a credential, narrow credentials.keys in "
                     f"{self.policy.name}")
            return  # reported once; the value patterns would only repeat it
        if not isinstance(value, str):
            return
        for where, pattern in self.policy.value_patterns:
            if pattern.search(value):
                self.add(parts, "credentials.value_pattern",
                         f"value looks like a credential ({where}); its content is not shown",
                         "put the secret in a secret overlay file (mode 0600) and refer to it "
                         "by environment variable; if it is not a credential, narrow "
                         f"{where} in {self.policy.name}")
                return
        if _URL_PASSWORD.search(value):
            self.add(parts, "credentials.url_password",
                     "URL carries a password in its user:password@ part (not shown)",
                     "remove the password from the URL and pass it through a secret overlay "
                     "file (mode 0600)")
        if _key_matches(key, self.policy.endpoint_keys) and value.strip():
            self.endpoint(value, parts)

    @staticmethod
    def inline_credential(value: Any, key: str | None) -> bool:
        if isinstance(value, bool) or value is None:
            return False
        if isinstance(value, (int, float)):
            return True
        if not isinstance(value, str) or not value.strip():
            return False
        if _ENV_REF.match(value.strip()):
            return False
        return not ((key or "").lower().endswith("_env") and _ENV_NAME.match(value.strip()))

    def endpoint(self, value: str, parts: list[Any]) -> None:
        found = classify_endpoint(value)
        if found.local:
            return
        rule = "endpoints.local_or_allowed"
        if found.kind == "invalid":
            shown = "" if "@" in value else f" {excerpt(value)}"
            self.add(parts, rule, f"endpoint{shown} cannot be judged: {found.problem}",
                     "write a URL with a scheme and a plain host "
                     "(http://127.0.0.1:11434/v1), or a unix: socket URL")
            return
        by_host = [e for e in self.allow if e.matches_host(found.host)]
        if any(found.scheme in e.schemes for e in by_host):
            return
        if by_host:
            entry = by_host[0]
            self.add(parts, rule,
                     f"endpoint host {excerpt(found.host, _MAX_HOST)} is allowlisted for "
                     f"{', '.join(entry.schemes)} only, not {found.scheme}",
                     f"use {entry.schemes[0]}, or add {found.scheme} to the schemes of "
                     f"{entry.where}")
            return
        schemes = "" if found.scheme in DEFAULT_SCHEMES else f", schemes: [{found.scheme}]"
        what = "is not local" if found.scheme in LOCAL_SCHEMES \
            else f"over {found.scheme} is not local (only http/https can be)"
        if found.userinfo:
            what = "(the text before '@' is a user name, not the host) " + what
        self.add(parts, rule,
                 f"endpoint host {excerpt(found.host, _MAX_HOST)} {what} and not allowlisted",
                 f"add {{host: {_yaml_scalar(found.host)}{schemes}, reason: ...}} to "
                 f"endpoints.allow in {self.policy.name}")

    def speech(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            return
        for section, allowed in (("tts", self.policy.tts_providers),
                                 ("stt", self.policy.stt_providers)):
            body = data.get(section)
            if allowed is None or not isinstance(body, Mapping):
                continue
            rule = f"speech.{section}_provider"
            listed = ", ".join(allowed) or "(none)"
            if "provider" not in body:
                if body.get("enabled") is True:
                    self.add([section], rule, f"{section} is enabled without an explicit "
                                              f"provider",
                             f"set {section}.provider to one of: {listed}")
                continue
            provider = body["provider"]
            if isinstance(provider, str) and provider in allowed:
                continue
            if not isinstance(provider, str):
                self.add([section, "provider"], rule,
                         f"{section} provider is a {type(provider).__name__}, not a name",
                         f"use one of: {listed}")
                continue
            self.add([section, "provider"], rule,
                     f"{section} provider {excerpt(provider)} is not one of: {listed}",
                     f"use one of: {listed}, or add {excerpt(provider)} to "
                     f"speech.{section}_providers in {self.policy.name}")


def check_config(data: Any, policy: Policy, name: str, extra_allow: Any = (),
                 extra_allow_source: str = EXTRA_ALLOW_SOURCE) -> list[Violation]:
    """Every policy violation in a parsed config, in document order (speech last).

    ``extra_allow``: more allow entries (inventory's endpoint allowlist), same
    shape as ``endpoints.allow``; a broken one raises PolicyError naming
    ``extra_allow_source``.
    """
    extra = parse_allow_entries(extra_allow, extra_allow_source, extra_allow_source)
    checker = _Checker(policy, name, extra)
    checker.walk(data, [], None, set())
    checker.speech(data)
    return checker.out


def check_config_policy(config: Any, policy: Policy | str, name: str, extra_allow: Any = (),
                        extra_allow_source: str = EXTRA_ALLOW_SOURCE) -> list[str]:
    """One line per violation for a config (YAML text, bytes, or parsed data).

    ``policy`` is a loaded Policy or the path of a policy file. Raises
    PolicyError for a broken policy file or extra allow entry. A config that is
    not valid YAML gives one line saying so (never its content).
    """
    if isinstance(policy, (str, os.PathLike)):
        policy = load_policy(os.fspath(policy))
    if isinstance(config, (bytes, str)):
        try:
            config = load_yaml(config, name, "overlay")  # strict: fleet.strict_load
        except DocumentError as exc:
            return [str(exc)]
    return [str(v) for v in check_config(config, policy, name, extra_allow, extra_allow_source)]
