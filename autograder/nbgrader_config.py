"""nbgrader settings shared by every course command (release, grade, check).

nbgrader reads ``nbgrader_config.py`` only from the current directory, so the commands in
``autograder/`` never rely on that: each run writes a small ``nbgrader_config.py`` into the
course folder it works in, which loads this file with ``load_subconfig`` and then sets the
folder-specific paths (root, gradebook). Instructors who run ``nbgrader`` by hand in the
grading folder (``grading/`` by default, e.g. for formgrader) get the same settings.
"""
import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when the file is loaded)

# The autograder's own preprocessors live next to this file.
_here = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(_here) not in sys.path:
    sys.path.insert(0, os.path.dirname(_here))

from autograder.paths import COURSE_ID, DEFAULT_CELL_TIMEOUT, DEFAULT_STUCK_GRACE  # noqa: E402

c.CourseDirectory.course_id = COURSE_ID
# Instructors edit solutions/; students get lessons/ (both committed).
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading: one cell may run this long (must exceed the slowest solution cell in quick mode,
# cold `import torch` included); a cell that ignores the interrupt makes the kernel restart.
c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT", str(DEFAULT_CELL_TIMEOUT)))
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False
c.Execute.iopub_timeout = 4
c.Execute.execute_retries = 0
c.RobustExecute.stuck_grace = int(os.environ.get("COURSE_STUCK_GRACE", str(DEFAULT_STUCK_GRACE)))

# A deleted or edited test cell is restored from the gradebook copy of the source.
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

from autograder.execute import RobustExecute  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

c.Autograde.autograde_preprocessors = [
    RobustExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
