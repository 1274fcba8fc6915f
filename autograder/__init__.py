"""The instructors' commands: release student notebooks, grade a class, prove the grading honest.

Run from the repository root::

    python -m autograder release [LESSON ...]
    python -m autograder grade SUBMISSIONS_DIR [--out OUT_DIR]
    python -m autograder check [LESSON ...]
"""
