# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mitogen's linear strategy, found through this repository's strategy_plugins path.

DOCUMENTATION says why this shim exists. Without mitogen installed the file
still loads (ansible-doc, ansible-test's import test); selecting the strategy
then fails with an error naming the package.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: mitogen_linear
short_description: Mitogen's linear strategy, loaded from the installed mitogen package
description:
  - Runs a play like the P(ansible.builtin.linear#strategy) strategy, through Mitogen,
    which keeps one Python interpreter per host and sends modules over its connection
    instead of copying them; a converge takes about half as long.
  - A shim. Mitogen (PyPI C(mitogen)) ships the plugin inside its package; this file lets
    ansible.cfg name one stable C(strategy_plugins) path instead of a site-packages
    directory that differs by virtualenv and Python version.
  - Used by pull-mode converges (C(ANSIBLE_STRATEGY=mitogen_linear) while
    C(pull_agent_mitogen) is true) and by the Molecule steps; laptop checks use the
    default strategy.
requirements:
  - mitogen >= 0.3.54, < 0.4 in the Python that runs ansible-playbook (without it,
    selecting this strategy fails with an error naming the package)
author: Wizard fleet maintainers (!UNKNOWN)
"""

try:
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule
except ImportError as error:  # pragma: no cover - depends on the environment
    _MISSING = str(error)

    from ansible.errors import AnsibleError
    from ansible.plugins.strategy import StrategyBase

    class StrategyModule(StrategyBase):
        """Stands in for Mitogen's strategy when mitogen is missing: selecting it fails."""

        def __init__(self, tqm):  # pylint: disable=super-init-not-called
            raise AnsibleError("strategy mitogen_linear needs the 'mitogen' package in the "
                               f"Python that runs ansible-playbook ({_MISSING})")

__all__ = ["StrategyModule"]  # what Ansible loads from this file
