"""`mlops register`: the environment, the components and the training data, each at its version by content.

An asset whose name:version already exists is skipped, so a deploy with no change writes and uploads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlops.assets import Asset, ReleaseAssets

if TYPE_CHECKING:
    from mlops.workspace import Workspace


@dataclass(frozen=True)
class Registration:
    asset: Asset
    action: str  # "exists" | "registered" | "new" (looked up, not written) | "would register unless it exists"


def register(assets: ReleaseAssets, workspace: Workspace | None, *, write: bool = True) -> list[Registration]:
    """With no workspace (--dry-run) nothing is looked up or written: the list says what would be registered.
    With write=False each asset is looked up and nothing written: "new" is what a deploy would register."""
    done = []
    for asset in assets.all():
        if workspace is None:
            done.append(Registration(asset, "would register unless it exists"))
        elif workspace.exists(asset):
            done.append(Registration(asset, "exists"))
        elif write:
            workspace.register(asset)
            done.append(Registration(asset, "registered"))
        else:
            done.append(Registration(asset, "new"))
    return done
