"""nbgrader settings shared by every course command (release, grade, check) and by Formgrader.

nbgrader reads ``nbgrader_config.py`` only from the current directory, so the commands in
``autograder/`` never rely on that: each run writes a small ``nbgrader_config.py`` into the
course folder it works in, which loads this file with ``load_subconfig`` and then sets the
folder-specific paths (root, gradebook). Instructors who run ``nbgrader`` by hand in the
grading folder (``grading/`` by default, e.g. for Formgrader) get the same settings.

Students' code is never executed by nbgrader here: ``python -m autograder grade`` runs each
submission in a sandbox (autograder/sandbox.py) and has nbgrader only score the results, with
its own settings (autograder/scoring.py). A hand-run ``nbgrader autograde`` (or Formgrader's
"autograde" button) is refused, because it would run students' code with your privileges.
"""
import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when the file is loaded)

# The autograder's own preprocessors live next to this file.
_here = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(_here) not in sys.path:
    sys.path.insert(0, os.path.dirname(_here))

from autograder.paths import COURSE_ID  # noqa: E402

c.CourseDirectory.course_id = COURSE_ID
# Instructors edit solutions/; students get lessons/ (both committed).
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# What students see in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A deleted or edited test cell is restored from the gradebook copy of the source.
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

from autograder.scoring import UseTheCourseGrader  # noqa: E402

c.Autograde.autograde_preprocessors = [UseTheCourseGrader]
