"""A forked child for the crash tests: it dies as a killed process would."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable


def fork(work: Callable[[], object]) -> int:
    """Run ``work`` in a forked child that never returns into pytest; its pid.

    The child exits 0 when ``work`` returns, 3 when it raises (the traceback on
    stderr); ``work`` may also ``os._exit`` on its own, as a SIGKILL would end it.
    """
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            work()
            code = 0
        except BaseException:  # reported through the exit status
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    return pid
