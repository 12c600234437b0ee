"""Test step: concatenates result.txt of its input folders; records when it started and ended."""

import argparse
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("folders", nargs="+", type=Path)
parser.add_argument("--delay", type=float)
parser.add_argument("--out", type=Path)
args = parser.parse_args()
started = time.time()
print(f"waiting {args.delay} s", flush=True)
time.sleep(args.delay)
text = "".join((folder / "result.txt").read_text() for folder in args.folders)
(args.out / "result.txt").write_text(text)
(args.out / "interval.txt").write_text(f"{started} {time.time()}")
