"""Test step: writes its text (times N, plus the optional data file's content) to out/result.txt."""

import argparse
import os
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--text")
parser.add_argument("--times", type=int)
parser.add_argument("--data")
parser.add_argument("--out", type=Path)
args = parser.parse_args()
Path("written_into_snapshot.txt").write_text("steps may write into their working folder")
data = Path(args.data).read_text().strip() if args.data else ""
(args.out / "result.txt").write_text(args.text * args.times + os.environ["GREETING_SUFFIX"] + data + "\n")
(args.out / "ran_at.txt").write_text(str(time.time()))
