"""The instructors' commands: release student notebooks, grade a class, prove the grading honest.

Run from the repository root::

    python -m autograder release [LESSON ...]
    python -m autograder grade SUBMISSIONS_DIR [--out OUT_DIR]
    python -m autograder check [LESSON ...]

Where each concept lives (one module each):

=================  ==========================================================================
``paths``          where things are, what a lesson is, its kernel; course id, default timeouts
``nbtools``        building blocks for source notebooks (``solutions/``)
``release``        the student versions in ``lessons/`` (nbgrader generate_assignment, Colab cell)
``nbgrader_cli``   running nbgrader: environment, a folder's nbgrader_config.py, process group
``lab``            ``make lab`` / ``make instructor``; ``jupyter_setup``: the venv's Jupyter
``submissions``    reading what students hand in, without trusting it (files, names, JSON)
``plan``           the grading notebook and job, built from the source, never the student's file
``cleanrun``       which statements of an answer cell run: definitions only, chosen with ``ast``
``sandbox``        one bubblewrap sandbox per submission, with its limits
``runner``         the grading kernel inside the sandbox (one process per exercise, hidden tests)
``execute``        one submission's job through the sandbox (``run-one``), outputs filled in
``safepages``      outputs and written answers sanitized before any page renders them
``scoring``        nbgrader scores the executed notebooks (one writer of the gradebook)
``gradefolder``    the grading folder: lock, lesson registration, gradebook reads, grades.csv,
                   report.jsonl, pages of submissions that could not be graded
``grade``          the ``grade`` command: orchestration of all of the above, ``--jobs`` at a time
``check``          the ``check`` command: solution = full marks, blank = 0, through ``grade``
=================  ==========================================================================
"""
