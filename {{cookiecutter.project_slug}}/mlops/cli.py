"""`python -m mlops`: argument parsing, printing, and the one place user errors become an exit code.

Commands are imported only when chosen, so `--help` and the local run never pay for the Azure SDK's import.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.errors import MlopsError
from mlops.settings import default_root

if TYPE_CHECKING:
    from mlops.settings import AzureSettings
    from mlops.workspace import Workspace

OK, FAILED, INTERRUPTED = 0, 1, 130


def parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def add_overrides(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        "--set", dest="overrides", action="append", type=parse_assignment, default=[], metavar="NAME=VALUE", help=help
    )


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'NAME: VALUE', got {text!r}")
    return name.strip(), value.strip()


def add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="follow the job; cancel it on timeout, Ctrl-C or SIGTERM")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait before cancelling (default 3600)")
    parser.add_argument("--poll", type=float, default=15, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    # No abbreviated options: a CI file or script that says `--work` would break when a `--workers` option appears.
    parser = argparse.ArgumentParser(
        prog="python -m mlops",
        description=(
            "The project's training pipeline, from this machine to Azure ML: run it here (no cloud needed), check "
            "it, then register, submit, promote and schedule it in the dev and prod workspaces."
        ),
        epilog=(
            "Start with `run`. `python -m mlops COMMAND --help` shows a command's options. Azure commands take "
            "--env (an environment of config/environments.toml); those that change Azure take --dry-run, which "
            "needs no credentials."
        ),
        allow_abbrev=False,
    )
    parser.add_argument("--verbose", action="store_true", help="show the Azure libraries' own warnings and details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", help="run the training pipeline on this machine (no cloud needed)", allow_abbrev=False
    )
    run.add_argument("--file", type=Path, help="run this pipeline YAML instead of the project's pipeline")
    add_overrides(
        run,
        "set a pipeline input (NAME=VALUE) or a step's input (STEP.NAME=VALUE) for this run, repeatable, e.g. "
        "--set n_estimators=500; paths are relative to the current folder",
    )
    run.add_argument("--force", action="store_true", help="rerun every step, even those whose inputs are unchanged")
    run.add_argument("--runs-dir", type=Path, help="where run folders go (default: runs/)")
    run.add_argument("--no-register", action="store_true", help="do not register the model, even when promoted")

    def azure_command(name: str, help: str, writes: bool = True) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help, allow_abbrev=False)
        command.add_argument("--env", required=True, metavar="ENV", help="environment in config/environments.toml")
        if writes:
            command.add_argument("--dry-run", action="store_true", help="print what would be done; touch nothing")
        return command

    validate = azure_command("validate", "build and check the pipeline offline (no credentials needed)", writes=False)
    add_overrides(validate, "check with this pipeline input value")
    validate.add_argument(
        "--workspace",
        action="store_true",
        help="also check against ENV's workspace (read-only): Azure ML's validation, the compute, what is new",
    )
    azure_command("register", "register the environment, components and data, each versioned by content")
    submit = azure_command("submit", "register what changed and submit the pipeline to Azure ML")
    add_wait(submit)
    submit.add_argument("--manifest", type=Path, help="after a successful run, write the release manifest here")
    promote = azure_command("promote", "register and run in ENV exactly the versions a dev release manifest names")
    promote.add_argument("--manifest", type=Path, required=True, help="the release manifest of the dev run")
    promote.add_argument("--from-env", default="dev", help="where the manifest's model lives (default dev)")
    add_wait(promote)
    azure_command("schedule", "retrain on a cron schedule on a file your data pipeline refreshes (retraining_data)")
    deploy = azure_command("deploy", "serve a model on ENV's online endpoint: new deployment, smoke test, then traffic")
    chosen = deploy.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--manifest", type=Path, help="deploy the model this release manifest gives ENV")
    chosen.add_argument("--model", metavar="NAME:VERSION", help="deploy this model of ENV's workspace")
    chosen.add_argument("--delete", action="store_true", help="delete ENV's endpoint and its deployments")
    infra = azure_command("infra", "preview (what-if) or deploy infra/ (Bicep) to ENV with the Azure CLI")
    infra.add_argument(
        "action", choices=["what-if", "deploy"], help="what-if: show the changes; deploy: apply them unless deployed"
    )

    serve = commands.add_parser(
        "serve", help="serve a registered model on 127.0.0.1 with Azure ML's inference server", allow_abbrev=False
    )
    serve.add_argument(
        "--model",
        metavar="NAME[:VERSION]|PATH",
        help="a registered model (default: the latest version of the project's model) or a run's model folder",
    )
    serve.add_argument("--port", type=int, default=5001, help="the port on 127.0.0.1 (default 5001, as in Azure ML)")
    smoke = commands.add_parser(
        "smoke", help="send sample requests to a scoring URL and check the answers", allow_abbrev=False
    )
    smoke.add_argument("--url", required=True, help="the scoring URL, e.g. http://127.0.0.1:5001/score")
    smoke.add_argument(
        "--header",
        dest="headers",
        action="append",
        type=parse_header,
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header too (repeatable), e.g. --header 'azureml-model-deployment: blue'",
    )
    smoke.add_argument(
        "--token-env", metavar="VARIABLE", help="send the bearer token held in this environment variable"
    )
    smoke.add_argument("--request", type=Path, help="send this request file (default: the data's first rows)")
    smoke.add_argument("--rows", type=int, default=5, help="rows of the data in the sample request (default 5)")
    smoke.add_argument("--timeout", type=float, default=30, help="seconds to wait for each answer (default 30)")
    return parser


@dataclass(frozen=True)
class Context:
    """What every command shares, resolved once: the project, and how to reach a workspace."""

    root: Path
    connect: Callable[[AzureSettings], Workspace] | None = None  # tests pass an in-memory fake; None: the SDK

    def workspace(self, azure: AzureSettings, dry_run: bool, roles_from: tuple[str, ...] = ()) -> Workspace:
        """The dry-run workspace for --dry-run (no credentials, no network); else the environment's workspace.

        Its permission errors are retried for a while after infra/ was deployed to its environment, or to any of
        ``roles_from`` (environments whose infra/ grants roles this connection uses)."""
        if dry_run:
            from mlops.workspace.dry_run import DryRunWorkspace

            return DryRunWorkspace(azure)
        azure.require_subscription()  # before the SDK's import: a missing variable is reported at once
        if self.connect is not None:
            return self.connect(azure)
        from mlops.commands.infra import permissions_settle_by
        from mlops.workspace import sdk

        windows = [permissions_settle_by(self.root, env) for env in (azure.environment, *roles_from)]
        settle_by = max((window for window in windows if window is not None), default=None)
        return sdk.connect(azure, permissions_settle_by=settle_by, progress=_progress)

    def settings(self, environment: str):
        from mlops.settings import load_azure_settings, load_pipeline_settings

        return load_azure_settings(environment, self.root), load_pipeline_settings(self.root)


class Console:
    """Progress and results, written to stderr (progress) and stdout (results), nowhere else."""

    def say(self, message: str) -> None:
        print(f"  · {message}", file=sys.stderr, flush=True)

    def step(self, name: str, event: str, result) -> None:
        if event == "started":
            print(f"  ▶ {name}", file=sys.stderr, flush=True)
        elif event == "running":  # a long step: how long so far, and the last line it logged
            print(f"  … {name:<12} {result.seconds:6.0f} s  {last_line(result.log)}", file=sys.stderr, flush=True)
        elif result.cached_from:
            print(f"  ↺ {name:<12} reused from run {result.cached_from}", file=sys.stderr, flush=True)
        else:
            mark = "✓" if result.ok else "✗"
            print(f"  {mark} {name:<12} {result.seconds:6.1f} s", file=sys.stderr, flush=True)


def last_line(log: Path, width: int = 100) -> str:
    """The last line a running step logged (its command line does not count), cut to ``width`` characters."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 4096))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    line = lines[-1] if lines and not lines[-1].startswith("$ ") else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def command_run(args: argparse.Namespace, context: Context) -> int:
    from mlops.commands.run import run
    from mlops.settings import load_pipeline_settings

    console = Console()
    settings = load_pipeline_settings(context.root)
    print(f"Running {args.file or 'the project pipeline'} locally", file=sys.stderr, flush=True)
    outcome = run(
        settings,
        file=args.file,
        overrides=dict(args.overrides),
        force=args.force,
        runs_dir=args.runs_dir,
        register=not args.no_register,
        progress=console.step,
        announce=console.say,
    )
    result = outcome.result
    if not result.ok:
        for failure in result.failed:
            reason = f" ({failure.error})" if failure.error else ""
            print(f"\nstep '{failure.name}' failed{reason}; the end of its log ({failure.log}):\n", file=sys.stderr)
            print(tail(failure.log), file=sys.stderr)
            if failure.name in outcome.hints:
                print(f"\nnote: {outcome.hints[failure.name]}", file=sys.stderr)
        if result.skipped:
            print(f"\nnot run: {', '.join(result.skipped)}", file=sys.stderr)
        return FAILED
    print(f"\nRun {result.run_id} finished in {result.seconds:.1f} s: {result.folder}")
    rows = summary(outcome, outcome.model_name or settings.model_name)
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        print(f"  {label:<{width}}  {text}")
    return OK


def summary(outcome, model_name: str) -> list[tuple[str, str]]:
    """The run's results as (label, text) rows: outputs, then the project pipeline's evaluation, then notes."""
    result, plan = outcome.result, outcome.plan
    rows = [(name, str(result.output(plan, name))) for name in plan.outputs]
    if outcome.project_pipeline:
        evaluation = result.output(plan, "evaluation")
        metrics = json.loads((evaluation / "metrics.json").read_text(encoding="utf-8"))
        rows.append(("metrics", ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, int | float))))
        rows.append(("report", str(evaluation / "report.md")))
        if outcome.model_version:
            rows.append(("registry", f"{model_name} version {outcome.model_version} (the local MLflow registry)"))
        elif outcome.decision.get("promote"):
            rows.append(("registry", "not registered: promoted by the evaluation, but --no-register"))
        else:
            rows.append(("registry", "not registered: " + " ".join(outcome.decision.get("reasons", []))))
    rows += [("note", note) for note in outcome.notes]
    return rows


def command_validate(args: argparse.Namespace, context: Context) -> int:
    azure, pipeline = context.settings(args.env)
    workspace = context.workspace(azure, dry_run=False) if args.workspace else None
    from mlops.commands.validate import validate
    from mlops.workspace import Action

    result = validate(pipeline, azure, dict(args.overrides), workspace)
    for problem in result.problems:
        print(f"error: {problem}", file=sys.stderr)
    if not result.ok:
        return FAILED
    print(f"pipeline valid: {' -> '.join(result.steps)}")
    if workspace is not None:
        print(f"valid in {azure.workspace} (resource group {azure.resource_group}); compute {result.compute}")
        new = sum(registration.action is Action.NEW for registration in result.registrations)
        print(f"a deploy would register {new} of {len(result.registrations)} assets:")
        _print_registrations(result.registrations)
    return OK


def _print_registrations(registrations) -> None:
    for registration in registrations:
        versioned = registration.asset.versioned
        print(f"  {versioned.kind:<12} {versioned.name}:{versioned.version:<18} {registration.action}")


def command_register(args: argparse.Namespace, context: Context) -> int:
    azure, pipeline = context.settings(args.env)
    workspace = context.workspace(azure, args.dry_run)
    from mlops.assets import release_assets
    from mlops.commands.register import register

    registrations = register(release_assets(pipeline, azure), workspace)
    print(f"{'Would register in' if args.dry_run else 'Registered in'} {azure.workspace}:")
    _print_registrations(registrations)
    return OK


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _report(state) -> None:
    steps = ", ".join(f"{step} {status}" for step, status in state.steps.items())
    print(f"  {state.name}: {state.status}" + (f" ({steps})" if steps else ""), file=sys.stderr, flush=True)


def _print_submission(submission, azure) -> int:
    from mlops import ci
    from mlops.workspace import JobStatus

    _print_registrations(submission.registrations)
    job, state = submission.job, submission.state
    if state.status is JobStatus.NOT_SUBMITTED:
        print(f"Would submit to {azure.workspace}, experiment {azure.experiment}, compute {azure.compute}:")
        for step, node in job.jobs.items():
            print(f"  {step:<12} {node.component.name}:{node.component.version}")
        print(f"  inputs       input_data={job.inputs['input_data']._data.path}")
        if submission.manifest:
            print(f"manifest (a rehearsal, for promote --dry-run): {submission.manifest}")
        return OK
    print(f"job {state.name}: {state.status}")
    if state.studio_url:
        print(f"studio: {state.studio_url}")
    if line := ci.publish_output("job_name", state.name):
        print(line)
    if submission.verdict is not None:
        if submission.model_version:
            print(f"model: registered {submission.model_name} version {submission.model_version}")
        else:
            print(f"model: not registered: {submission.verdict.reasons}")
    if submission.manifest:
        print(f"manifest: {submission.manifest}")
    if submission.ok:
        return OK
    reason = f": {submission.error}" if submission.error else ""
    print(
        f"error: job {state.name} ended {state.status}{reason}; see {state.studio_url or 'the studio'}", file=sys.stderr
    )
    return FAILED


def _stop_on_sigterm() -> None:
    import signal

    from mlops.polling import Stop

    def stop(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, stop)


def command_submit(args: argparse.Namespace, context: Context) -> int:
    azure, pipeline = context.settings(args.env)
    workspace = context.workspace(azure, args.dry_run)
    from mlops.commands.submit import submit

    _stop_on_sigterm()
    submission = submit(
        pipeline,
        azure,
        workspace,
        wait_for_it=args.wait,
        timeout=args.timeout,
        poll=args.poll,
        manifest_path=args.manifest,
        report=_report,
    )
    return _print_submission(submission, azure)


def command_promote(args: argparse.Namespace, context: Context) -> int:
    from mlops.settings import load_azure_settings

    azure, pipeline = context.settings(args.env)
    workspace = context.workspace(azure, args.dry_run)
    dev = None
    if azure.ml_registry:
        # The model is shared from dev's workspace into the registry, with the role prod's infra/ grants on it
        # (AzureML Registry User), maybe minutes ago in this same CD stage.
        dev = context.workspace(load_azure_settings(args.from_env, context.root), args.dry_run, roles_from=(args.env,))
    from mlops.commands.promote import promote

    _stop_on_sigterm()
    promotion = promote(
        args.manifest,
        pipeline,
        azure,
        workspace,
        dev=dev,
        wait_for_it=args.wait,
        timeout=args.timeout,
        poll=args.poll,
        report=_report,
    )
    model = promotion.manifest["model"]
    print(f"promoting {model['name']} version {model['version']} from job {promotion.manifest['pipeline_job']}")
    if promotion.shared_model:
        from mlops.workspace import Action

        said = {Action.EXISTS: "already in the registry", Action.PLANNED: "would be shared to the registry"}
        print(f"model {said.get(promotion.shared, 'shared to the registry')}: {promotion.shared_model}")
        print(f"{azure.environment} serves it as it is, nothing retrained: `mlops deploy --env {azure.environment}`")
        return OK
    return _print_submission(promotion.submission, azure)


def command_deploy(args: argparse.Namespace, context: Context) -> int:
    azure, pipeline = context.settings(args.env)
    from mlops.commands import deploy

    if args.delete:
        print(deploy.delete(azure, context.workspace(azure, args.dry_run)))
        return OK
    model = deploy.model_to_deploy(azure, args.manifest, args.model, args.dry_run)
    workspace = context.workspace(azure, args.dry_run)
    from mlops.commands.smoke import expectation, sample_request, smoke

    request, expected = sample_request(pipeline), expectation(pipeline)

    def check(url: str, headers) -> None:
        result = smoke(url, request, expected, headers=dict(headers), timeout=60)
        for step in result.checks:
            _progress(f"    ✓ {step.name:<10} {step.status} in {step.milliseconds:6.1f} ms: {step.detail}")

    _stop_on_sigterm()
    report = (lambda event: None) if args.dry_run else (lambda event: _progress(f"  {event}"))
    rollout = deploy.deploy(pipeline, azure, workspace, model, check, report=report)
    if args.dry_run:
        print(f"Would deploy {model.uri} from {model.origin} to endpoint {rollout.endpoint} as {rollout.deployment}:")
        for event in rollout.events:
            print(f"  {event}")
        return OK
    deployment, endpoint = rollout.deployment, rollout.endpoint
    said = {
        deploy.Outcome.UNCHANGED: f"{deployment} already serves all of endpoint {endpoint}: nothing changed",
        deploy.Outcome.DELETED: f"{deployment} passed its smoke test; endpoint {endpoint} deleted as configured",
        deploy.Outcome.DEPLOYED: f"{deployment} ({model.uri}) now serves all of endpoint {endpoint}",
    }
    print(said[rollout.outcome])
    return OK


def command_schedule(args: argparse.Namespace, context: Context) -> int:
    azure, pipeline = context.settings(args.env)
    workspace = context.workspace(azure, args.dry_run)
    from mlops.commands.schedule import schedule

    scheduled = schedule(pipeline, azure, workspace)
    _print_registrations(scheduled.registrations)
    verb = "Would schedule" if args.dry_run else "Schedule"
    print(f"{verb} {scheduled.name} in {azure.workspace}: '{scheduled.cron}' (UTC)")
    print(f"each run trains and evaluates on {azure.retraining_data} as it is then; it registers and deploys nothing")
    return OK


def command_infra(args: argparse.Namespace, context: Context) -> int:
    import os

    from mlops.commands import infra
    from mlops.settings import load_azure_settings

    azure = load_azure_settings(args.env, context.root)
    if args.action == "what-if":
        command = infra.what_if(azure, context.root, os.environ, dry_run=args.dry_run)
        if args.dry_run:
            print(shlex.join(command))
        return OK
    outcome = infra.deploy(azure, context.root, os.environ, dry_run=args.dry_run)
    for command in outcome.commands if args.dry_run else ():
        print(shlex.join(command))
    where = f"{outcome.deployment.resource_group} (deployment {outcome.deployment.name})"
    said = {
        infra.Change.UNCHANGED: f"infra/ unchanged since its last successful deployment to {where}: nothing to deploy",
        infra.Change.DEPLOYED: f"infra/ deployed to {where}",
        infra.Change.PLANNED: f"would deploy infra/ to {where} unless that deployment already succeeded",
    }
    print(said[outcome.change])
    return OK


def command_serve(args: argparse.Namespace, context: Context) -> int:
    import signal
    import tempfile

    from mlops.commands.serve import serve
    from mlops.settings import load_pipeline_settings

    settings = load_pipeline_settings(context.root)
    print("Starting Azure ML's inference server with serving/score.py", file=sys.stderr, flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does

    signal.signal(signal.SIGTERM, stop)
    with tempfile.TemporaryDirectory(prefix="mlops-serve-") as workdir:
        serving = serve(settings, args.model, args.port, Path(workdir))
        server = serving.server
        try:
            from mlops.commands.smoke import sample_request  # pandas: imported once there is a server to show

            request = json.dumps(sample_request(settings, rows=1))
            print(f"\nServing {serving.model} at {server.scoring_url} (answered {serving.seconds:.1f} s after start)")
            header = "-H 'Content-Type: application/json'"
            print(f"  try    curl -s {server.scoring_url} {header} -d {shlex.quote(request)}")
            print(f"  check  .venv/bin/python -m mlops smoke --url {server.scoring_url}")
            print("  stop   Ctrl-C", flush=True)
            code = server.process.wait()
        except KeyboardInterrupt:
            return OK
        finally:
            server.stop()
    print(f"error: the inference server stopped by itself (exit code {code}); its log is above", file=sys.stderr)
    return FAILED


def command_smoke(args: argparse.Namespace, context: Context) -> int:
    import os

    from mlops.commands.smoke import expectation, read_request, sample_request, smoke
    from mlops.settings import load_pipeline_settings

    headers = dict(args.headers)
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise MlopsError(f"--token-env {args.token_env}: that environment variable is empty; put the token in it")
        headers["Authorization"] = f"Bearer {token}"
    settings = load_pipeline_settings(context.root)
    request = read_request(args.request) if args.request else sample_request(settings, args.rows)
    print(f"Smoke test of {args.url}", file=sys.stderr, flush=True)
    result = smoke(args.url, request, expectation(settings), headers=headers, timeout=args.timeout)
    for check in result.checks:
        print(f"  ✓ {check.name:<10} {check.status} in {check.milliseconds:6.1f} ms: {check.detail}")
    print(f"passed: {args.url} answers as serving/contract.py says")
    return OK


COMMANDS = {
    "run": command_run,
    "validate": command_validate,
    "register": command_register,
    "submit": command_submit,
    "promote": command_promote,
    "schedule": command_schedule,
    "deploy": command_deploy,
    "infra": command_infra,
    "serve": command_serve,
    "smoke": command_smoke,
}


def main(
    argv: list[str] | None = None,
    *,
    root: Path | None = None,
    connect: Callable[[AzureSettings], Workspace] | None = None,
) -> int:
    """The CLI. ``root`` is the project (default: the one this package belongs to); ``connect`` replaces the SDK's
    workspace, for tests."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # it announces every database migration at INFO
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)  # "experimental class" notices
    # A failed sign-in logs a block per credential it tried; our one error line says what to do instead.
    logging.getLogger("azure.identity").setLevel(logging.NOTSET if args.verbose else logging.ERROR)
    context = Context(root or default_root(), connect)
    try:
        return COMMANDS[args.command](args, context)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see _stop_on_sigterm) before there was a job to cancel
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
