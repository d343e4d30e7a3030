# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus metrics as node_exporter's textfile collector reads them.

Host programs describe their metrics as ``Family`` objects and hand them to
``write_textfile``, which renders the text exposition format and writes
``<directory>/<name>.prom`` atomically (the collector globs ``*.prom``; the
temporary file is ``.<name>.prom.XXXX`` and so never read half-written).

Pure Python (standard library only) so it imports with or without Ansible.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .files import atomic_write

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TEXTFILE_NAME = re.compile(r"[a-zA-Z0-9_-]+\Z")
TYPES = ("gauge", "counter", "untyped")


def format_value(value: float) -> str:
    """A sample value as the exposition format spells it (NaN, +Inf, -Inf)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


@dataclass
class Family:
    """One metric family: name, help text, type and its samples."""

    name: str
    help: str
    type: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not METRIC_NAME.match(self.name):
            raise ValueError(f"invalid metric name: {self.name!r}")
        if self.type not in TYPES:
            raise ValueError(f"{self.name}: type must be one of {', '.join(TYPES)}")

    def add(self, value: float, **labels: str) -> Family:
        """Add one sample; returns the family so calls chain."""
        for label in labels:
            if not LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"{self.name}: invalid label name: {label!r}")
        self.samples.append(({k: str(v) for k, v in labels.items()}, value))
        return self

    def render(self) -> str:
        lines = [f"# HELP {self.name} {escape_help(self.help)}", f"# TYPE {self.name} {self.type}"]
        for labels, value in self.samples:
            text = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{self.name}{{{text}}} {format_value(value)}" if text
                         else f"{self.name} {format_value(value)}")
        return "\n".join(lines) + "\n"


def render(families: Iterable[Family]) -> str:
    """The exposition text of ``families``; families without samples are left out."""
    seen: set[str] = set()
    parts = []
    for family in families:
        if family.name in seen:
            raise ValueError(f"metric family {family.name} given twice")
        seen.add(family.name)
        if family.samples:
            parts.append(family.render())
    return "".join(parts)


def write_textfile(directory: str, name: str, families: Iterable[Family]) -> str:
    """Write ``families`` to ``<directory>/<name>.prom`` atomically; returns the path."""
    if not TEXTFILE_NAME.match(name):
        raise ValueError(f"invalid textfile name: {name!r}")
    path = os.path.join(directory, f"{name}.prom")
    atomic_write(path, render(families).encode("utf-8"), mode=0o644)
    return path
