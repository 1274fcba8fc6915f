"""What students hand in: find, read and check submissions without trusting them.

Layout: ``SUBMISSIONS_DIR/<student>/<lesson>/<lesson>.ipynb`` (a lone notebook with another name
in that folder is accepted, with a note). Nothing in ``SUBMISSIONS_DIR`` is ever written, and
nothing of it but the notebook's bytes is read: files are opened with ``O_NOFOLLOW`` and
``O_NONBLOCK`` and must be regular files (no symlinks, FIFOs or devices) under a size limit;
student ids and notebook names must match a safe pattern in full; undecodable names are shown
escaped (:func:`shown`). A notebook that cannot be read raises :class:`MalformedNotebook` with a
reason the student can act on.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import warnings
from pathlib import Path

import nbformat

from .paths import all_lessons

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # always used with fullmatch
NOTEBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@ -]{0,120}\.ipynb")
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class MalformedNotebook(ValueError):
    """The submission cannot be read as a Jupyter notebook."""


def shown(name: str) -> str:
    """A file name as text that is safe to print and store: undecodable bytes and controls escaped."""
    raw = os.fsencode(name)
    text = raw.decode("utf-8", errors="backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def read_regular_file(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> tuple[bytes, float]:
    """The bytes of a regular file (not a symlink, FIFO or device) and its ctime; at most ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno in (40, 62):  # ELOOP (Linux) / ELOOP (macOS): a symlink
            raise MalformedNotebook("the notebook is a symbolic link, not a file") from None
        raise MalformedNotebook(f"the notebook cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MalformedNotebook("the notebook is not a regular file (a FIFO, device or folder)")
        if info.st_size > limit:
            raise MalformedNotebook(f"the file is {info.st_size / 1e6:.0f} MB, larger than the "
                                    f"{limit / 1e6:.0f} MB limit")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise MalformedNotebook(f"the file is larger than the {limit / 1e6:.0f} MB limit")
        return b"".join(chunks), info.st_ctime
    finally:
        os.close(fd)


def read_submission(data: bytes) -> tuple[nbformat.NotebookNode, list[str]]:
    """Read and validate a submitted notebook, repairing what can be repaired safely.

    Returns the notebook and notes on what was repaired. Raises :class:`MalformedNotebook`
    with a reason a student can act on.
    """
    notes: list[str] = []
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise MalformedNotebook(f"the file is larger than the {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNotebook(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedNotebook(f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise MalformedNotebook("the file is JSON nested too deeply to be a notebook") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list) or "nbformat" not in raw:
        raise MalformedNotebook("the file is JSON but not a Jupyter notebook (no 'cells' list or 'nbformat' field)")
    if raw.get("nbformat") != 4:
        raise MalformedNotebook(f"notebook format {raw.get('nbformat')!r} is not supported (expected 4)")
    # Cell ids: a copied cell carries its original's id; give duplicates fresh, stable ids
    # (before nbformat, which would rename them with only a warning).
    seen: set[str] = set()
    for index, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict):
            raise MalformedNotebook(f"cell {index + 1} is not a JSON object")
        cid = cell.get("id")
        if raw.get("nbformat_minor", 0) >= 5 and (not isinstance(cid, str) or not cid or cid in seen):
            new = hashlib.sha1(f"{cid}-{index}".encode()).hexdigest()[:12]
            notes.append(f"cell {index + 1} repeated the id of another cell (a copied cell); gave it a new id")
            cell["id"] = cid = new
        if isinstance(cid, str):
            seen.add(cid)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:  # nbformat raises several kinds
        raise MalformedNotebook(f"nbformat cannot read it: {str(exc)[:300]}") from None
    # nbgrader grade ids: a copied graded cell repeats its original's. The first copy is graded;
    # the others are ordinary cells (and do not run: only answer cells run when grading).
    grade_ids: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or not meta:
            continue
        gid = meta.get("grade_id")
        if gid in grade_ids:
            del cell["metadata"]["nbgrader"]
            notes.append(f"cell {index + 1} is a copied cell (it repeats grade id {gid!r}); the first copy is graded")
        elif isinstance(gid, str):
            grade_ids.add(gid)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise MalformedNotebook(f"the notebook does not follow the Jupyter format: {exc.message[:300]}") from None
    return nb, notes


def _scandir(path: Path) -> list[os.DirEntry]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: os.fsencode(e.name))


def find_notebook(folder: Path, lesson: str) -> tuple[Path | None, list[str]]:
    """The submission's notebook in ``folder``: ``<lesson>.ipynb``, else a lone ``*.ipynb``.

    Symlinks and other non-regular files are never chosen; the reason is returned as a note.
    """
    entries = [e for e in _scandir(folder) if e.name.endswith(".ipynb") and not e.name.startswith(".")]
    expected = next((e for e in entries if e.name == f"{lesson}.ipynb"), None)
    if expected is not None:
        if expected.is_symlink():
            return None, [f"{lesson}.ipynb is a symbolic link, not a file: not graded"]
        return Path(expected.path), []
    regular = [e for e in entries if e.is_file(follow_symlinks=False)]
    if len(entries) == 1 and len(regular) == 1 and NOTEBOOK_NAME.fullmatch(regular[0].name):
        return Path(regular[0].path), [f"expected {lesson}.ipynb, graded {regular[0].name} (the only notebook there)"]
    return None, []


def enumerate_submissions(sub_dir: Path, wanted: list[str]) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """(student, lesson, folder) for every submission, and warnings for what was skipped."""
    todo: list[tuple[str, str, Path]] = []
    notes: list[str] = []
    for entry in _scandir(sub_dir):
        name = entry.name
        if name.startswith("."):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                kind = "a symbolic link" if entry.is_symlink() else "not a folder"
                notes.append(f"skipped '{shown(name)}': {kind}")
                continue
            if not STUDENT_ID.fullmatch(name):
                notes.append(f"skipped folder '{shown(name)}': not a valid student id (letters, digits, _ . @ -)")
                continue
            for sub in _scandir(Path(entry.path)):
                if sub.name.startswith("."):
                    continue
                if sub.name in wanted:
                    if sub.is_dir(follow_symlinks=False):
                        todo.append((name, sub.name, Path(sub.path)))
                    else:
                        notes.append(f"{name}/{shown(sub.name)}: not a folder (a symbolic link?); ignored")
                elif sub.is_dir(follow_symlinks=False):
                    known = "not a lesson being graded" if sub.name in all_lessons() else "unknown lesson folder"
                    notes.append(f"{name}/{shown(sub.name)}: {known}; ignored")
        except OSError as exc:
            notes.append(f"skipped '{shown(name)}': {exc.strerror}")
    return todo, notes
