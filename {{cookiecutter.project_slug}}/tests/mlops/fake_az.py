"""TEST DOUBLE of the Azure CLI, for tests/mlops/test_infra_command.py: only `az deployment group show|create|what-if`.

Each call is appended to the JSON state file named by FAKE_AZ_STATE, which also holds the deployments made so far and
what the test asked for: `create_result` ("Succeeded" or "Failed"), and `show_error` or `what_if_error` (the stderr
of a failing lookup or what-if).
The test installs this file as an executable named `az` on PATH.
"""

import json
import os
import sys

state_path = os.environ["FAKE_AZ_STATE"]
with open(state_path, encoding="utf-8") as handle:
    state = json.load(handle)
args = sys.argv[1:]
state["calls"].append(args)
verb = args[2] if args[:2] == ["deployment", "group"] and len(args) > 2 else None
name = args[args.index("--name") + 1] if "--name" in args else None
code = 0
if verb == "show":
    if state.get("show_error"):
        print(f"ERROR: {state['show_error']}", file=sys.stderr)
        code = 1
    elif name in state["deployments"]:
        print(state["deployments"][name])
    else:
        print(f"ERROR: (DeploymentNotFound) Deployment '{name}' could not be found.", file=sys.stderr)
        code = 3
elif verb == "create":
    result = state.get("create_result", "Succeeded")
    state["deployments"][name] = result
    if result != "Succeeded":
        print("ERROR: (InvalidTemplateDeployment) the double was told to fail", file=sys.stderr)
        code = 1
elif verb == "what-if":
    if state.get("what_if_error"):
        print(f"ERROR: {state['what_if_error']}", file=sys.stderr)
        code = 1
    else:
        print("Resource changes: 1 to create.")
else:
    print(f"ERROR: the az test double does not implement {args}", file=sys.stderr)
    code = 2
with open(state_path, "w", encoding="utf-8") as handle:
    json.dump(state, handle)
sys.exit(code)
