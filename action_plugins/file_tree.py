# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for the file_tree module: reads each entry's ``src`` on the controller.

Like ``copy``, a relative ``src`` is searched in the role's ``files/`` (and the
playbook's); the bytes travel base64-encoded in the module's arguments, so a
whole set of files costs one module call instead of a transfer per file. A
Vault-encrypted source is decrypted, and its entry shows no diff.
"""

from __future__ import annotations

import base64

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase


def without_content(entry):
    """An entry as shown in verbose output: content replaced by its size."""
    if not isinstance(entry, dict):
        return entry
    return {key: (f"({len(value)} characters)" if key in ("content", "content_base64") else value)
            for key, value in entry.items()}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False  # content goes in the arguments

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        entries = args.get("entries")
        if isinstance(entries, list):
            try:
                args["entries"] = [self._read_src(index, entry)
                                   for index, entry in enumerate(entries)]
            except AnsibleError as error:
                result.update(failed=True, msg=str(error))
                return result
        result.update(self._execute_module(module_name="file_tree", module_args=args,
                                           task_vars=task_vars))
        # -vvv prints the arguments: name each file's content by size, not in full.
        shown = result.get("invocation", {}).get("module_args", {})
        if isinstance(shown.get("entries"), list):
            shown["entries"] = [without_content(entry) for entry in shown["entries"]]
        return result

    def _read_src(self, index: int, entry):
        if not isinstance(entry, dict) or "src" not in entry:
            return entry  # the module reports malformed entries, with their index
        entry = dict(entry)
        src = entry.pop("src")
        where = f"entries[{index}] ({entry.get('path')})"
        if "content" in entry or "content_base64" in entry:
            raise AnsibleError(f"{where}: give one of src, content and content_base64")
        if not isinstance(src, str) or not src:
            raise AnsibleError(f"{where}: src must be a path (a non-empty string)")
        try:
            path = self._find_needle("files", src)
            # Like copy: a Vault-encrypted source is decrypted (to a private temporary
            # file the loader removes), and its content then stays out of diffs.
            real = self._loader.get_real_file(path, decrypt=True)
            try:
                with open(real, "rb") as handle:
                    entry["content_base64"] = base64.b64encode(handle.read()).decode("ascii")
            finally:
                self._loader.cleanup_tmp_file(real)
        except (AnsibleError, OSError) as error:
            raise AnsibleError(f"{where}: cannot read src {src}: {error}") from None
        if real != path:
            entry["diff"] = False
        return entry
