"""Time the project's `make test-fast` and print its ten slowest tests (a benchmark: nothing here asserts).

The fast suite is the loop a developer runs after every change, so its wall time, collection included, is the number
that matters: it is measured as `make test-fast` runs it. pytest's JUnit report gives each test's time (set-up and
tear-down included), which names the tests to look at when the total grows.

Run with `make bench`, or `python benchmarks/bench_tests.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 20.0  # seconds on a quiet 2-core machine
SLOWEST = 10


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-tests-") as work:
        junit = Path(work) / "test-fast.xml"
        env = {**os.environ, "PYTEST_ADDOPTS": f"--junitxml={junit} -p no:cacheprovider"}
        start = time.perf_counter()
        result = subprocess.run(["make", "test-fast"], cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            print(result.stdout[-3000:], result.stderr[-2000:], sep="\n")
            print(f"make test-fast failed after {seconds:.1f} s: the time is not a benchmark of a passing suite")
            return 1
        cases = [
            (f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}", float(case.get("time", 0)))
            for case in ET.parse(junit).getroot().iter("testcase")
        ]
    print(f"{'make test-fast':<34} {seconds:7.2f} s   target < {TARGET:.0f} s ({len(cases)} tests)")
    print(f"  its {SLOWEST} slowest, in {sum(t for _, t in cases):.1f} s of test time all told:")
    for name, test_seconds in sorted(cases, key=lambda case: -case[1])[:SLOWEST]:
        print(f"  {test_seconds:7.2f} s  {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
