"""Configure the virtual environment's Jupyter: nbgrader's student extensions need a course id
and an exchange folder they can write to; the kernel is the venv's own ``python3``."""
from __future__ import annotations

import sys
from pathlib import Path

from .paths import REPO

CONFIG = '''\
# Written by `python -m autograder setup-jupyter` (make setup). Read by nbgrader's
# JupyterLab extensions (assignment list, validate) started from this virtual environment.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "ppml-course"
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
'''


def setup_jupyter() -> Path:
    prefix = Path(sys.prefix)
    exchange = REPO / ".exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777)
    target = prefix / "etc" / "jupyter" / "nbgrader_config.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(CONFIG.format(exchange=str(exchange)))
    print(f"Jupyter configured for the course: {target}")
    return target
