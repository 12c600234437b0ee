"""Time the template's feedback loops and print the numbers (a benchmark, not a test: nothing here asserts).

  test-fast      the template's own `make test-fast`, and its ten slowest tests
  bake           cookiecutter with the default answers (in-process median, and the CLI as a user runs it)
  setup cold     the baked project's `make setup` with empty uv and pip caches
  setup warm     `make setup` in a fresh bake with the caches filled
  setup no-op    `make setup` again with nothing changed
  test           the baked project's `make test`, then its `make test-fast` and ten slowest tests (its own
                 benchmarks/bench_tests.py)
  core deps      the core dependencies into a new virtual environment, uv against pip, both with empty caches

Run with `make bench` from the template repository; name parts to run only those
(`python benchmarks/bench_template.py test-fast`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
SLOWEST = 10
CORE_DEPS = ["azure-ai-ml", "azure-identity", "pandas", "scikit-learn", "mlflow-skinny", "pytest"]


def user_env(**extra: str) -> dict[str, str]:
    """A shell's environment, without the template's own virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    venv_bin = str(TEMPLATE / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return {**env, **extra}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed


def bake(output: Path) -> Path:
    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output), overwrite_if_exists=True))


def report(label: str, seconds: float, target: str = "") -> None:
    print(f"{label:<34} {seconds:7.2f} s   {target}", flush=True)


def template_test_fast(work: Path) -> None:
    """`make test-fast` as a developer runs it; pytest's JUnit report gives each test's time (set-up included)."""
    junit = work / "test-fast.xml"
    env = user_env(PYTEST_ADDOPTS=f"--junitxml={junit} -p no:cacheprovider")
    report("template make test-fast", timed(["make", "test-fast"], TEMPLATE, env), "target < 20 s")
    cases = [
        (f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}", float(case.get("time", 0)))
        for case in ET.parse(junit).getroot().iter("testcase")
    ]
    print(f"  its {SLOWEST} slowest of {len(cases)} tests:")
    for name, seconds in sorted(cases, key=lambda case: -case[1])[:SLOWEST]:
        print(f"  {seconds:7.2f} s  {name}", flush=True)


def bakes(work: Path) -> None:
    times = []
    for i in range(5):
        start = time.perf_counter()
        bake(work / f"api{i}")
        times.append(time.perf_counter() - start)
    report("bake (API, median of 5)", statistics.median(times), "target < 1 s")
    cli = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(work / "cli"), str(TEMPLATE)]
    report("bake (cookiecutter CLI)", timed(cli, work, user_env()), "target < 1 s")


def project_setup_and_tests(work: Path) -> None:
    # Caches of their own: empty for the cold set-up, filled by it for the warm one.
    caches = user_env(UV_CACHE_DIR=str(work / "uv-cache"), PIP_CACHE_DIR=str(work / "pip-cache"))
    project = bake(work / "cold")
    report("make setup, cold (empty caches)", timed(["make", "setup"], project, caches), "target < 30 s")
    report("make setup, no-op", timed(["make", "setup"], project, caches))
    report("make test", timed(["make", "test"], project, caches))
    # The project measures its own fast loop; its numbers print here as they would in the project's `make bench`.
    bench_tests = [".tools/bin/uv", "run", "--no-sync", "python", "benchmarks/bench_tests.py"]
    subprocess.run(bench_tests, cwd=project, env=caches)
    project = bake(work / "warm")
    report("make setup, warm (caches filled)", timed(["make", "setup"], project, caches), "target < 5 s")


def core_deps(work: Path) -> None:
    uv = str(TEMPLATE / ".tools" / "bin" / "uv")
    venv = work / "uv-venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    install = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *CORE_DEPS]
    report("core deps, uv (empty cache)", timed(install, work, user_env(UV_CACHE_DIR=str(work / "uv2"))))
    venv = work / "pip-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # pip 23 cannot resolve azure-ai-ml with mlflow; time a current pip (its own upgrade is not timed).
    subprocess.run([*pip, "--upgrade", "pip"], check=True, env=user_env())
    empty_pip_cache = user_env(PIP_CACHE_DIR=str(work / "pip-cache2"))
    report("core deps, pip (empty cache)", timed([*pip, *CORE_DEPS], work, empty_pip_cache))


PARTS = {"test-fast": template_test_fast, "bake": bakes, "setup": project_setup_and_tests, "deps": core_deps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", metavar="part", help=f"what to time: {', '.join(PARTS)} (default: all)")
    parts = parser.parse_args(argv).parts or list(PARTS)
    if unknown := [part for part in parts if part not in PARTS]:
        parser.error(f"unknown part {unknown[0]!r}: choose from {', '.join(PARTS)}")
    work = Path(tempfile.mkdtemp(prefix="bench-template-"))
    try:
        for part in parts:
            PARTS[part](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
