"""`mlops register`: the environment, the components and the training data, each at its version by content.

An asset whose name:version already exists is skipped, so a deploy with no change writes and uploads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops.assets import Asset, ReleaseAssets
from mlops.workspace import Action, Workspace


@dataclass(frozen=True)
class Registration:
    asset: Asset
    action: Action


def register(assets: ReleaseAssets, workspace: Workspace, *, write: bool = True) -> list[Registration]:
    """Each asset looked up and, unless it exists, registered. With write=False nothing is written: "new" is what a
    deploy would register. The dry-run workspace looks nothing up and plans every registration."""
    done = []
    for asset in assets.all():
        if workspace.exists(asset):
            done.append(Registration(asset, Action.EXISTS))
        elif write:
            done.append(Registration(asset, workspace.register(asset)))
        else:
            done.append(Registration(asset, Action.NEW))
    return done
