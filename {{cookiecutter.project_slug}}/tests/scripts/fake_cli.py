"""TEST DOUBLE of the Azure CLI (`az`) and the GitHub CLI (`gh`), for tests/scripts/test_bootstrap_azure.py: only the
commands scripts/bootstrap_azure.sh runs, with the state they read and change kept in the JSON file FAKE_CLI_STATE.

The test installs this file twice on PATH, as executables named `az` and `gh`; the name it was called by says which
CLI it plays. Each call is appended to the state's "calls" with whether it changed anything, so a test can tell a
lookup from a change. It is as strict as Azure where a lenient double would hide a re-run bug: a second identical
role assignment fails (as `az role assignment create` does on releases before August 2025), so does a second custom
role of the same name, an assignment of an unknown role, a resource in a missing group, and an environment variable of
a missing GitHub environment. Unknown commands, options and `--query` expressions fail with exit code 2. Unlike Azure,
a provider registration is complete at once.
"""

import json
import os
import sys

state_path = os.environ["FAKE_CLI_STATE"]
with open(state_path, encoding="utf-8") as handle:
    state = json.load(handle)
program = os.path.basename(sys.argv[0])
args = sys.argv[1:]
before = json.dumps({key: value for key, value in state.items() if key != "calls"}, sort_keys=True)
FLAGS = {"--silent"}  # options without a value

# The --query expressions the bootstrap uses (az evaluates JMESPath; a new one must be added here on purpose).
QUERIES = {
    "id": lambda found: found["id"],
    "tenantId": lambda found: found["tenantId"],
    "clientId": lambda found: found["clientId"],
    "principalId": lambda found: found["principalId"],
    "[0].id": lambda found: found[0]["id"] if found else None,
    "[0].name": lambda found: found[0]["name"] if found else None,
    "[0].condition": lambda found: found[0]["condition"] if found else None,
    "registrationState=='Registered' || null": lambda found: found["registrationState"] == "Registered" or None,
}


class Refused(Exception):
    """What the real CLI prints on stderr, and its exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def parse(words: list[str]) -> tuple[list[str], dict[str, str]]:
    positional, options = [], {}
    index = 0
    while index < len(words):
        word = words[index]
        if word in FLAGS:
            options[word] = ""
        elif word.startswith("--"):
            if index + 1 >= len(words):
                raise Refused(f"argument {word}: expected one argument", 2)
            options[word] = words[index + 1]
            index += 1
        else:
            positional.append(word)
        index += 1
    return positional, options


def allow(options: dict[str, str], required: set[str], optional: set[str] = frozenset()) -> None:
    missing, unknown = required - set(options), set(options) - required - optional
    if missing or unknown:
        raise Refused(
            f"the {program} test double expects {sorted(required)} (and maybe {sorted(optional)}), "
            f"not {sorted(options)}",
            2,
        )


def answer(found: object, options: dict[str, str]) -> str:
    """Print as `--query Q --output tsv` does: nothing for null, true/false in lower case."""
    if options.get("--output") == "none":
        return ""
    if options.get("--output") != "tsv" or options.get("--query") not in QUERIES:
        raise Refused(f"the az test double answers only --output tsv with a query of {sorted(QUERIES)}", 2)
    value = QUERIES[options["--query"]](found)
    if value is None:
        return ""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def new_id() -> str:
    state["sequence"] = state.get("sequence", 0) + 1
    return f"{state['sequence']:08x}-0000-4000-8000-000000000000"


def group_id(name: str) -> str:
    if name not in state["groups"]:
        raise Refused(f"(ResourceGroupNotFound) Resource group '{name}' could not be found.", 3)
    return f"/subscriptions/{state['subscription_id']}/resourceGroups/{name}"


def identity(options: dict[str, str], name_option: str) -> dict:
    key = f"{options['--resource-group']}/{options[name_option]}"
    group_id(options["--resource-group"])
    if key not in state["identities"]:
        raise Refused(f"(ResourceNotFound) The Resource '{options[name_option]}' was not found.", 3)
    return state["identities"][key]


def role_definition_id(role: str, scope: str) -> str:
    """A built-in role by id (Microsoft's list, from the test), or a custom role by name assignable at ``scope``."""
    if role in state["built_in_role_ids"]:
        return role
    for definition in state["role_definitions"]:
        if role in (definition["name"], definition["roleName"]) and scope in definition["assignableScopes"]:
            return definition["name"]
    raise Refused(f"Role '{role}' doesn't exist.")


def az(words: list[str]) -> str:
    command, options = parse(words)
    match command:
        case ["account", "show"]:
            allow(options, {"--query", "--output"})
            return answer({"id": state["subscription_id"], "tenantId": state["tenant_id"]}, options)
        case ["provider", "show"]:
            allow(options, {"--namespace", "--query", "--output"})
            registration = state["providers"].get(options["--namespace"], "NotRegistered")
            return answer({"namespace": options["--namespace"], "registrationState": registration}, options)
        case ["provider", "register"]:
            allow(options, {"--namespace", "--output"})
            state["providers"][options["--namespace"]] = "Registered"
            return ""
        case ["group", "show"]:
            allow(options, {"--name", "--query", "--output"})
            return answer({"id": group_id(options["--name"])}, options)
        case ["group", "create"]:  # a PUT: it replaces the group's tags with the ones given (none)
            allow(options, {"--name", "--location", "--output"})
            state["groups"][options["--name"]] = {"location": options["--location"], "tags": {}}
            return answer({"id": group_id(options["--name"])}, options)
        case ["identity", "show"]:
            allow(options, {"--name", "--resource-group", "--query", "--output"})
            return answer(identity(options, "--name"), options)
        case ["identity", "create"]:  # a PUT as well
            allow(options, {"--name", "--resource-group", "--location", "--output"})
            group = group_id(options["--resource-group"])
            key = f"{options['--resource-group']}/{options['--name']}"
            created = state["identities"].get(key) or {"clientId": new_id(), "principalId": new_id()}
            created["id"] = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{options['--name']}"
            created["tags"] = {}
            state["identities"][key] = created
            return answer(created, options)
        case ["identity", "federated-credential", "show"]:
            allow(options, {"--identity-name", "--resource-group", "--name", "--query", "--output"})
            found = identity(options, "--identity-name")
            if options["--name"] not in found.setdefault("federated", {}):
                raise Refused(f"(NotFound) Federated identity credential '{options['--name']}' was not found.", 3)
            return answer(found["federated"][options["--name"]], options)
        case ["identity", "federated-credential", "create"]:  # a PUT: same name, updated in place
            allow(
                options,
                {"--identity-name", "--resource-group", "--name", "--issuer", "--subject", "--audiences", "--output"},
            )
            found = identity(options, "--identity-name")
            federated = found.setdefault("federated", {})
            for name, other in federated.items():
                if name != options["--name"] and (other["issuer"], other["subject"]) == (
                    options["--issuer"],
                    options["--subject"],
                ):
                    raise Refused("(Conflict) A federated identity credential with this issuer and subject exists.")
            federated[options["--name"]] = {
                "id": f"{found['id']}/federatedIdentityCredentials/{options['--name']}",
                "issuer": options["--issuer"],
                "subject": options["--subject"],
                "audiences": [options["--audiences"]],
            }
            return answer(federated[options["--name"]], options)
        case ["role", "assignment", "list"]:
            allow(options, {"--assignee", "--role", "--scope", "--query", "--output"})
            role = role_definition_id(options["--role"], options["--scope"])
            found = [
                assignment
                for assignment in state["role_assignments"]
                if (assignment["principalId"], assignment["roleDefinitionId"], assignment["scope"])
                == (options["--assignee"], role, options["--scope"])
            ]
            return answer(found, options)
        case ["role", "assignment", "create"]:
            allow(
                options,
                {"--assignee-object-id", "--assignee-principal-type", "--role", "--scope", "--output"},
                {"--condition", "--condition-version"},
            )
            principals = {found["principalId"] for found in state["identities"].values()}
            if options["--assignee-object-id"] not in principals:
                raise Refused(f"(PrincipalNotFound) Principal {options['--assignee-object-id']} does not exist.")
            if ("--condition" in options) != (options.get("--condition-version") == "2.0"):
                raise Refused("--condition needs --condition-version 2.0")
            role = role_definition_id(options["--role"], options["--scope"])
            key = (options["--assignee-object-id"], role, options["--scope"])
            if any((a["principalId"], a["roleDefinitionId"], a["scope"]) == key for a in state["role_assignments"]):
                raise Refused("(RoleAssignmentExists) The role assignment already exists.")
            state["role_assignments"].append(
                {
                    "id": f"{options['--scope']}/providers/Microsoft.Authorization/roleAssignments/{new_id()}",
                    "principalId": key[0],
                    "roleDefinitionId": role,
                    "scope": key[2],
                    "condition": options.get("--condition"),
                }
            )
            return ""
        case ["role", "assignment", "delete"]:
            allow(options, {"--ids", "--output"})
            kept = [found for found in state["role_assignments"] if found["id"] != options["--ids"]]
            if len(kept) == len(state["role_assignments"]):
                raise Refused(f"(RoleAssignmentNotFound) The role assignment '{options['--ids']}' is not found.", 3)
            state["role_assignments"] = kept
            return ""
        case ["role", "definition", "list"]:
            allow(options, {"--name", "--scope", "--query", "--output"})
            found = [
                definition
                for definition in state["role_definitions"]
                if options["--name"] in (definition["name"], definition["roleName"])
                and options["--scope"] in definition["assignableScopes"]
            ]
            return answer(found, options)
        case ["role", "definition", "create"]:
            allow(options, {"--role-definition", "--output"})
            definition = json.loads(options["--role-definition"])
            if any(found["roleName"] == definition["Name"] for found in state["role_definitions"]):
                raise Refused(
                    "(RoleDefinitionWithSameNameExists) A custom role with the same name already exists in this "
                    "directory."
                )
            for scope in definition["AssignableScopes"]:
                group_id(scope.rsplit("/", 1)[1])
            state["role_definitions"].append(
                {
                    "name": new_id(),
                    "roleName": definition["Name"],
                    "actions": definition["Actions"],
                    "assignableScopes": definition["AssignableScopes"],
                }
            )
            return ""
    raise Refused(f"the az test double does not implement {command}", 2)


def gh(words: list[str]) -> str:
    command, options = parse(words)
    github = state["github"]
    match command:
        case ["variable", "set", name]:
            allow(options, {"--repo", "--body"}, {"--env"})
            where = options["--repo"]
            if "--env" in options:
                where += f"/environments/{options['--env']}"
                if where not in github["environments"]:
                    raise Refused("HTTP 404: Not Found")
            github["variables"].setdefault(where, {})[name] = options["--body"]
            return ""
        case ["api", path] if options.get("--method") == "PUT":
            allow(options, {"--method", "--silent"})
            github["environments"][path.removeprefix("repos/")] = {}
            return ""
        case ["api", path]:
            allow(options, {"--jq"})
            if options["--jq"] != ".name":
                raise Refused("the gh test double answers only --jq .name", 2)
            if path.removeprefix("repos/") not in github["environments"]:
                raise Refused("gh: Not Found (HTTP 404)")
            return path.rsplit("/", 1)[1]
    raise Refused(f"the gh test double does not implement {command}", 2)


code = 0
try:
    printed = az(args) if program == "az" else gh(args)
    if printed:
        print(printed)
except Refused as refused:
    print(f"ERROR: {refused}" if program == "az" else str(refused), file=sys.stderr)
    code = refused.code
    state = {**json.loads(before), "calls": state["calls"]}  # a refused call changes nothing
after = json.dumps({key: value for key, value in state.items() if key != "calls"}, sort_keys=True)
state["calls"].append({"program": program, "args": args, "changed": after != before, "exit": code})
with open(state_path, "w", encoding="utf-8") as handle:
    json.dump(state, handle)
sys.exit(code)
