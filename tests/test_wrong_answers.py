"""The wrong-answer catalogue (tests/wrong_answers/): every plausible wrong answer of every autograded
exercise loses its points, the common ones already at the visible test with a message that names the
mistake; other correct answers earn the points. The structure test holds every lesson to it, including
lessons added later."""
from __future__ import annotations

import pytest

import scenarios as S
import wrong_answers as W
from autograder.paths import all_lessons

LESSONS = all_lessons()


def _entries(kind: str) -> list[tuple[str, str, int]]:
    found = []
    for lesson in LESSONS:
        try:
            module = W.catalogue_module(lesson)
        except ModuleNotFoundError:
            continue
        table = getattr(module, kind, {})
        for grade_id, answers in table.items():
            found += [(lesson, grade_id, i) for i in range(len(answers))]
    return found


def _answer(kind: str, lesson: str, grade_id: str, index: int):
    return getattr(W.catalogue_module(lesson), kind)[grade_id][index]


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_its_catalogue(lesson: str) -> None:
    try:
        module = W.catalogue_module(lesson)
    except ModuleNotFoundError:
        pytest.fail(f"no wrong-answer catalogue for {lesson}: add tests/wrong_answers/lesson_{lesson}.py")
    exercises = {e.answer_id for e in S.exercises(lesson)}
    unknown = set(module.WRONG) - exercises
    assert not unknown, f"{lesson}: catalogue entries for exercises that do not exist: {sorted(unknown)}"
    for grade_id in sorted(exercises):
        wrong = module.WRONG.get(grade_id, [])
        visible = [w for w in wrong if w.visible]
        assert len(wrong) >= W.MIN_WRONG, f"{lesson}/{grade_id}: {len(wrong)} wrong answers, need {W.MIN_WRONG}"
        assert len(visible) >= W.MIN_VISIBLE, (
            f"{lesson}/{grade_id}: {len(visible)} wrong answers marked visible=True, need {W.MIN_VISIBLE}")
        assert all(w.message for w in visible), f"{lesson}/{grade_id}: a visible wrong answer without message="
        assert len({w.code for w in wrong}) == len(wrong), f"{lesson}/{grade_id}: duplicate wrong answers"


@pytest.mark.parametrize("lesson,grade_id,index", _entries("WRONG"),
                         ids=lambda v: v if isinstance(v, str) else str(v))
def test_wrong_answer_loses_its_points(lesson: str, grade_id: str, index: int) -> None:
    wrong = _answer("WRONG", lesson, grade_id, index)
    if wrong.visible:
        exc = W.run_answer(lesson, grade_id, wrong.code, part="visible")
        assert exc is not None, f"{lesson}/{grade_id}: passes the visible test: {wrong.why}"
        text = str(exc)
        assert wrong.message.lower() in text.lower(), (
            f"{lesson}/{grade_id} ({wrong.why}): the visible failure does not say {wrong.message!r}:\n{text}")
        assert type(exc).__name__ == "CheckFailure", (
            f"{lesson}/{grade_id} ({wrong.why}): failed with {type(exc).__name__}, not a check's message: {text}")
        return  # the visible checks come first in the full cell, so it fails there too
    exc = W.run_answer(lesson, grade_id, wrong.code, part="full")
    assert exc is not None, f"{lesson}/{grade_id}: EARNS THE POINTS although wrong: {wrong.why}"


@pytest.mark.parametrize("lesson,grade_id,index", _entries("RIGHT"),
                         ids=lambda v: v if isinstance(v, str) else str(v))
def test_other_right_answer_earns_the_points(lesson: str, grade_id: str, index: int) -> None:
    right = _answer("RIGHT", lesson, grade_id, index)
    exc = W.run_answer(lesson, grade_id, right.code, part="full")
    assert exc is None, f"{lesson}/{grade_id}: a right answer ({right.why}) fails: {type(exc).__name__}: {exc}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_solutions_pass_through_the_catalogue_runner(lesson: str) -> None:
    """The runner itself is right: every solution earns its points when run the grader's way."""
    for ex in S.exercises(lesson):
        exc = W.run_answer(lesson, ex.answer_id, ex.solution_source, part="full")
        assert exc is None, f"{lesson}/{ex.answer_id}: the solution fails: {type(exc).__name__}: {exc}"
