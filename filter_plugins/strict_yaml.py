# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja filter: parse an operator's YAML file strictly (docs/CONVENTIONS.md,
"Reading operator documents").

``lookup('ansible.builtin.file', path) | strict_yaml(path, 'cron')``: the
document, or a task failure naming the file and line. Unlike ``from_yaml``, a
repeated key, an alias bomb, nesting deeper than 64 levels, a huge integer or a
file over its kind's size cap is refused. Logic: module_utils/fleet/strict_load.py.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from fleet.strict_load import KINDS, DocumentError, load_yaml


def strict_yaml(text: Any, source: str = "document", kind: str = "overlay") -> Any:
    """The YAML document in ``text``, parsed strictly; ``kind`` picks the size cap."""
    if kind not in KINDS:
        raise AnsibleFilterError(f"strict_yaml: kind must be one of {', '.join(KINDS)}, "
                                 f"got {kind!r}")
    if not isinstance(text, (str, bytes)):
        raise AnsibleFilterError(f"strict_yaml: {source}: expected the file's text, got "
                                 f"{type(text).__name__}")
    try:
        return load_yaml(str(text) if isinstance(text, str) else text, str(source), kind)
    except DocumentError as exc:
        raise AnsibleFilterError(f"strict_yaml: {exc}") from None


class FilterModule:
    """The strict YAML filter."""

    def filters(self) -> dict:
        return {"strict_yaml": strict_yaml}
