# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's logic, written once: pure Python that imports without Ansible.

Three faces import it under two names, with one style inside the package
(relative imports between its modules):

- Ansible modules: ``ansible.module_utils.fleet.<x>`` (ansible.cfg's
  ``module_utils`` path; AnsiballZ and Mitogen ship it to the host). Mitogen
  ships only the module_utils a module names, so each module imports every
  submodule it needs, directly or not (tests/unit/library/test_imports.py).
- Controller plugins, the CLIs and the host programs: ``fleet.<x>``, from this
  repository's package (``pip install -e .`` on a controller, the wheel in the
  pull agent's virtualenv on a host).
"""
