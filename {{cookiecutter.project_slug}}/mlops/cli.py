"""`python -m mlops`: argument parsing, printing, and the one place user errors become an exit code.

Commands are imported only when chosen, so `--help` and the local run never pay for the Azure SDK's import.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from mlops.errors import MlopsError

OK, FAILED, INTERRUPTED = 0, 1, 130


def parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlops", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the training pipeline on this machine (no cloud needed)")
    run.add_argument("--file", type=Path, help="run this pipeline YAML instead of the project's pipeline")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=parse_assignment,
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline input for this run (repeatable), e.g. --set n_estimators=500",
    )
    run.add_argument("--force", action="store_true", help="rerun every step, even those whose inputs are unchanged")
    run.add_argument("--runs-dir", type=Path, help="where run folders go (default: runs/)")
    run.add_argument("--no-register", action="store_true", help="do not register the model, even when promoted")
    return parser


class Console:
    """Progress and results, written to stderr (progress) and stdout (results), nowhere else."""

    def step(self, name: str, event: str, result) -> None:
        if event == "started":
            print(f"  ▶ {name}", file=sys.stderr, flush=True)
        elif result.cached_from:
            print(f"  ↺ {name:<12} reused from run {result.cached_from}", file=sys.stderr, flush=True)
        else:
            mark = "✓" if result.ok else "✗"
            print(f"  {mark} {name:<12} {result.seconds:6.1f} s", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def command_run(args: argparse.Namespace) -> int:
    from mlops.commands.run import run
    from mlops.settings import load_pipeline_settings

    console = Console()
    settings = load_pipeline_settings()
    print("Running the pipeline locally", file=sys.stderr, flush=True)
    outcome = run(
        settings,
        file=args.file,
        overrides=dict(args.overrides),
        force=args.force,
        runs_dir=args.runs_dir,
        register=not args.no_register,
        progress=console.step,
    )
    result, plan = outcome.result, outcome.plan
    if not result.ok:
        for failure in result.failed:
            print(f"\nstep '{failure.name}' failed; the end of its log ({failure.log}):\n", file=sys.stderr)
            print(tail(failure.log), file=sys.stderr)
        if result.skipped:
            print(f"\nnot run: {', '.join(result.skipped)}", file=sys.stderr)
        return FAILED

    print(f"\nRun {result.run_id} finished in {result.seconds:.1f} s: {result.folder}")
    for name in plan.outputs:
        print(f"  {name:<11} {result.output(plan, name)}")
    if "evaluation" in plan.outputs:
        evaluation = result.output(plan, "evaluation")
        metrics = json.loads((evaluation / "metrics.json").read_text(encoding="utf-8"))
        print("  metrics    " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, int | float)))
        print(f"  report     {evaluation / 'report.md'}")
    if outcome.decision is not None:
        if outcome.model_version:
            print(f"  model      registered locally as {settings.model_name} version {outcome.model_version}")
        elif outcome.decision.get("promote"):
            print("  model      promoted by the evaluation; not registered (--no-register)")
        else:
            print("  model      not registered: " + " ".join(outcome.decision.get("reasons", [])))
    for note in outcome.notes:
        print(f"  note       {note}")
    return OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # it announces every database migration at INFO
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)  # "experimental class" notices
    try:
        return {"run": command_run}[args.command](args)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
