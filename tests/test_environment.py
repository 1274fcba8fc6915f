"""The setup contract: pyproject.toml, environment.yml and the Makefile install the same packages
with the same ranges, each lesson's extras cover what it imports, the README's two commands exist,
CI runs the README's test command, and the Makefile hands TORCH_SPEC to pip as separate words."""
from __future__ import annotations

import ast
import functools
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from autograder.paths import DEFAULT_KERNEL, REPO, SOLUTIONS, all_lessons, lesson_kernel
from autograder.release import course_settings, lesson_extras

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# Everything but the benchmarks' extra is what `make setup` installs and environment.yml lists.
INSTALLED_EXTRAS = sorted(e for e in PYPROJECT["project"]["optional-dependencies"] if e != "bench")


def _pyproject_requirements(extras: list[str] | None = None) -> dict[str, str]:
    reqs = list(PYPROJECT["project"]["dependencies"])
    for extra in INSTALLED_EXTRAS if extras is None else extras:
        reqs += PYPROJECT["project"]["optional-dependencies"][extra]
    parsed = [Requirement(r) for r in reqs]
    return {r.name.lower(): str(r.specifier) for r in parsed}


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    parsed = [Requirement(r) for r in pip_section if not r.startswith("-")]
    return {r.name.lower(): str(r.specifier) for r in parsed}


def test_environment_yml_matches_pyproject() -> None:
    assert _conda_requirements() == _pyproject_requirements()


def test_environment_yml_installs_the_course_package_and_python() -> None:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "--editable ." in pip_section
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python == f"python{requires}"


def test_torch_range_admits_the_cpu_build_and_colab() -> None:
    spec = _pyproject_requirements()["torch"]
    from packaging.specifiers import SpecifierSet

    assert "2.13.0" in SpecifierSet(spec)


def test_readme_commands_and_ci() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## The two commands\s+```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make lab", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^lab: setup$", makefile, re.M) and re.search(r"^test: setup$", makefile, re.M)
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci


def test_ci_script_cannot_die_of_sigpipe() -> None:
    """Under ``set -o pipefail`` a pipe into ``head`` fails when the writer gets SIGPIPE (exit 141),
    which once failed CI before a single test ran. Keep the CI script free of early-closing readers."""
    ci = (REPO / ".ci" / "run").read_text()
    code = "\n".join(line.split("#")[0] for line in ci.splitlines())
    assert not re.search(r"\|\s*(head|grep\s+-q|grep\s+-m)\b", code), "a pipe into an early-closing reader in .ci/run"


def _makefile_var(name: str) -> str:
    text = (REPO / "Makefile").read_text()
    return re.search(rf"^{name}\s*[:?]?=\s*(.*)$", text, re.M).group(1).strip()


def test_make_setup_installs_every_extra_but_the_benchmarks() -> None:
    assert sorted(_makefile_var("EXTRAS").split(",")) == INSTALLED_EXTRAS


def test_base_is_part_one_and_the_lesson_map_is_complete() -> None:
    """Part I installs only the base; every lesson is in [tool.course.lessons] with known extras,
    and the release tag the Colab cells install from is this version's tag."""
    settings = course_settings()
    assert sorted(settings["lessons"]) == all_lessons(), "list every lesson in [tool.course.lessons]"
    for lesson in all_lessons():
        lesson_extras(lesson)  # raises on an unknown extra
    base = {Requirement(r).name for r in PYPROJECT["project"]["dependencies"]}
    assert not base & {"torch", "opacus", "flwr", "scikit-learn", "mlxtend"}, "Part I must not pull in these"
    assert settings["ref"] == f"v{settings['version']}", "[tool.course] ref is the tag of [project] version"


# --------------------------------------------------------------------------- each lesson's imports
HELPERS = REPO / "helpers"
NOTEBOOK_ENVIRONMENT = {"ipython", "ipykernel"}  # provided by any Jupyter kernel, Colab's included
# Lessons in another kernel ([tool.course.kernels]) import from that environment's pinned requirements.
KERNEL_REQUIREMENTS = {"ppml-tf": "requirements-tf.txt"}


def _optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """An import inside ``try: ... except ImportError`` is optional, not a requirement."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers):
            return True
    return False


def _imports(source: str, package: str | None = None) -> set[str]:
    """Absolute module names imported anywhere in ``source`` (relative ones resolved in ``package``)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if _optional(node, parents):
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
                found.add(module)
                if not node.module:
                    found.update(f"{base}.{a.name}" for a in node.names)
            else:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _helpers_module(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] != "helpers":
        return None
    path = HELPERS.joinpath(*parts[1:])
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return path / "__init__.py" if (path / "__init__.py").is_file() else None


def _third_party_imports(lesson: str) -> set[str]:
    """Top-level third-party modules a lesson can import: its own code cells, the helpers modules
    it uses (``import helpers``, ``helpers.x``, ``H.x`` including the lazily loaded ones) and
    everything those import, function-level imports included."""
    import helpers

    nb = json.loads((SOLUTIONS / lesson / f"{lesson}.ipynb").read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("!", "%")))
    todo = _imports(code)
    for attr in set(re.findall(r"\bH\.(\w+)", code)):
        todo.add(f"helpers.{helpers._LAZY_NAMES.get(attr, attr)}")
    seen: set[str] = set()
    third_party: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        top = name.split(".")[0]
        path = _helpers_module(name)
        if path is not None:
            package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
            todo |= _imports(path.read_text(), package)
        elif top != "helpers" and top not in sys.stdlib_module_names:
            third_party.add(top)
    return third_party


@functools.cache
def _owners() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@pytest.mark.parametrize("lesson", all_lessons())
def test_lesson_extras_cover_what_the_lesson_imports(lesson: str) -> None:
    """A Colab runtime installs the base plus the lesson's extras: that must be enough."""
    owners = _owners()
    allowed = set(_pyproject_requirements(lesson_extras(lesson))) | NOTEBOOK_ENVIRONMENT
    if lesson_kernel(lesson) != DEFAULT_KERNEL:  # its own environment: what that environment's pins install
        pins = (REPO / KERNEL_REQUIREMENTS[lesson_kernel(lesson)]).read_text().splitlines()
        allowed |= {Requirement(line).name for line in pins if line.strip() and not line.startswith("#")}
    missing = {}
    for module in sorted(_third_party_imports(lesson)):
        dists = {canonicalize_name(d) for d in owners.get(module, [module])}
        if not dists & {canonicalize_name(a) for a in allowed}:
            missing[module] = sorted(dists)
    assert not missing, (f"{lesson} imports {missing}, which neither the base dependencies nor its extras "
                         f"{lesson_extras(lesson)} provide: fix [tool.course.lessons] or the dependencies")


# --------------------------------------------------------------------------- the Makefile
MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    # Not the variables of a `make test` that may be running these tests: only what is given here.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return subprocess.run([MAKE, "--no-print-directory", "-C", str(REPO), *args], capture_output=True,
                          text=True, timeout=60, env=env)


@needs_make
def test_torch_spec_reaches_pip_as_separate_arguments(tmp_path: Path) -> None:
    """`make lab TORCH_SPEC="torch --index-url URL"` (the README's laptop command) must give pip
    three words, and say before the long download what it is installing."""
    url = "https://download.pytorch.org/whl/cpu"
    proc = _make("-n", "setup", f"VENV={tmp_path / 'venv'}", f"TORCH_SPEC=torch --index-url {url}")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    torch_line = next(i for i, line in enumerate(lines) if "pip install" in line and "--index-url" in line)
    words = shlex.split(lines[torch_line])
    assert words[-3:] == ["torch", "--index-url", url], words
    assert "--quiet" not in words and "-q" not in words, "the torch download must show pip's progress"
    announce = lines[torch_line - 1]
    assert "Installing PyTorch" in announce and "minutes" in announce
    extras_line = next(line for line in lines if "pip install" in line and "-e" in shlex.split(line))
    assert shlex.split(extras_line)[-1] == f".[{_makefile_var('EXTRAS')}]"


@needs_make
def test_setup_is_idempotent_and_lab_opens_the_working_copy(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    stamp = venv / ".course-installed"
    stamp.touch()  # newer than pyproject.toml and the Makefile: nothing to do
    assert _make("-q", "setup", f"VENV={venv}").returncode == 0, "make setup would reinstall"
    proc = _make("-n", "lab", f"VENV={venv}", "LAB_ARGS=--no-browser")
    assert proc.returncode == 0, proc.stderr
    assert shlex.split(proc.stdout.strip()) == [f"{venv}/bin/python", "-m", "autograder", "lab", "--no-browser"]
    proc = _make("-n", "instructor", f"VENV={venv}")
    assert shlex.split(proc.stdout.strip()) == [f"{venv}/bin/python", "-m", "autograder", "instructor"]
