"""Test step: writes half an output, then fails the way a real bug would."""

import argparse
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path)
args = parser.parse_args()
(args.out / "half_written.txt").write_text("not a result")
print("about to fail")
raise SystemExit("boom: something went wrong in this step")
