"""Built-in role ids: one table (infra/built-in-roles.json), checked against Microsoft's list, and nothing else in
the project writes a role id of its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import PROJECT

TABLE = PROJECT / "infra" / "built-in-roles.json"
MICROSOFT = Path(__file__).with_name("microsoft_built_in_roles.json")
GUID = re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b")
# How Bicep (builtInRoles.name, builtInRoles['name'], x.roles['name']) and the bootstrap (ids["name"]) name a role.
ROLE_BY_NAME = re.compile(r"builtInRoles\['([^']+)'\]|builtInRoles\.(\w+)|\.roles\['([^']+)'\]|\bids\[\"([^\"]+)\"\]")


def table() -> dict[str, str]:
    return json.loads(TABLE.read_text(encoding="utf-8"))["roles"]


def test_every_role_in_the_table_is_microsoft_s() -> None:
    microsoft = json.loads(MICROSOFT.read_text(encoding="utf-8"))
    assert json.loads(TABLE.read_text(encoding="utf-8"))["source"] == microsoft["source"]
    for name, role_id in table().items():
        assert microsoft["roles"].get(name) == role_id, f"{name}: {role_id} is not Microsoft's id for it"


def project_files() -> list[Path]:
    folders = ("infra", "scripts", "mlops", "components", ".github", ".azuredevops", "config")
    return sorted(
        path
        for folder in folders
        for path in (PROJECT / folder).rglob("*")
        if path.is_file() and path != TABLE and "__pycache__" not in path.parts
    )


def test_no_role_id_is_written_anywhere_else() -> None:
    strays = {
        f"{path.relative_to(PROJECT)}: {found}"
        for path in project_files()
        for found in GUID.findall(path.read_text(encoding="utf-8", errors="replace"))
    }
    assert strays == set(), "role ids belong in infra/built-in-roles.json only (refer to roles by name)"


def test_every_role_named_in_infra_and_scripts_is_in_the_table() -> None:
    named = {
        next(group for group in match if group)
        for path in project_files()
        if path.suffix in {".bicep", ".sh"}
        for match in ROLE_BY_NAME.findall(path.read_text(encoding="utf-8"))
    }
    assert {"AzureML Data Scientist", "Storage Blob Data Contributor", "Contributor"} <= named
    assert named - set(table()) == set()
