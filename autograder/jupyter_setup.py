"""Configure the virtual environment's Jupyter (``make setup``): nbgrader's student extensions need
a course id and an exchange folder they can write to; the kernel is the venv's own ``python3``; and
the instructor tools (Formgrader, Create Assignment, Courses) are switched off, so any JupyterLab
started from this environment is a student's. ``make instructor`` turns them back on for its own
launch (:mod:`autograder.lab`)."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from .paths import COURSE_ID, REPO

CONFIG = '''\
# Written by `python -m autograder setup-jupyter` (make setup). Read by nbgrader's
# JupyterLab extensions (assignment list, validate) started from this virtual environment.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
'''

STUDENT_ROLE = Path(__file__).resolve().parent / "jupyter_roles" / "student"


def install_student_defaults(config_dir: Path) -> list[Path]:
    """Write the student role's settings into a Jupyter config folder (``<prefix>/etc/jupyter``).

    The server-extension file goes into ``jupyter_server_config.d/``, where it sorts after
    nbgrader's own ``nbgrader.json`` and so wins; the lab plugins are merged into
    ``labconfig/page_config.json`` (the file ``jupyter labextension disable --level=sys_prefix``
    writes), keeping anything else already there.
    """
    written = []
    for src in sorted((STUDENT_ROLE / "jupyter_server_config.d").glob("*.json")):
        target = config_dir / "jupyter_server_config.d" / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        written.append(target)
    page_config = config_dir / "labconfig" / "page_config.json"
    try:
        current = json.loads(page_config.read_text())
    except (OSError, ValueError):
        current = {}
    disabled = current.get("disabledExtensions", {})
    if isinstance(disabled, list):  # the older list form
        disabled = {name: True for name in disabled}
    ours = json.loads((STUDENT_ROLE / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    current["disabledExtensions"] = {**disabled, **ours}
    page_config.parent.mkdir(parents=True, exist_ok=True)
    page_config.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    written.append(page_config)
    return written


def setup_jupyter(prefix: Path | None = None) -> Path:
    config_dir = Path(sys.prefix if prefix is None else prefix) / "etc" / "jupyter"
    exchange = REPO / ".exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777)
    target = config_dir / "nbgrader_config.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(CONFIG.format(exchange=str(exchange), course_id=COURSE_ID))
    install_student_defaults(config_dir)
    print(f"Jupyter configured for the course (student tools only): {config_dir}")
    return target
