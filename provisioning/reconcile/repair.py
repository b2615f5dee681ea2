"""Repairs go through the engine's own act/record path (:class:`ChunkSynchronizer`).

So a repair is logged like any write (action *Update*, old → new, reason *Drift repaired*), fails
and is escrowed like any write, and updates the link's last exported values. Only the mapped
attributes that differ are sent; anything else the target holds is left as it is.
"""

from typing import Any

from ..choices import LogAction, LogStatus
from ..connectors.errors import ConnectorError
from ..engine.act import ChunkSynchronizer, StopCycle, Work
from ..engine.record import Step
from ..log_text import gettext as _  # step texts translated when read


def drift_repaired() -> str:
    return _("Drift repaired")


def unmanaged_disabled() -> str:
    return _("Unmanaged account disabled by reconcile")


class DriftRepairer(ChunkSynchronizer):
    """A :class:`ChunkSynchronizer` whose log entries say why they were written."""

    reason = ""

    def log(self, work: Work, action: str, status: str, **kwargs) -> None:
        if not kwargs.get("reason"):
            kwargs["reason"] = self.reason or drift_repaired()
        super().log(work, action, status, **kwargs)

    def repair_attributes(self, work: Work, current: dict[str, Any], changes: dict[str, Any]):
        """Write ``changes`` (the differing mapped values); ``current`` is the target's."""
        work.previous = {k: current.get(k) for k in changes}
        work.changes = changes
        work.action, work.log_action = "update", LogAction.UPDATE
        try:
            self.ctx.connector.update(self.object_type, work.link.target_id, changes, work.desired)
        except ConnectorError as error:
            if error.stops_job:
                raise StopCycle(error) from error
            self.fail_with_connector_error(work, error)
            return False
        self.updated(work)
        return True

    def repair_members(self, work: Work, to_add: list[str], to_remove: list[str]) -> bool:
        """Add and remove group members in the target; the link then records the members."""
        connector = self.ctx.connector
        try:
            if to_add:
                connector.add_members(work.link.target_id, to_add)
            if to_remove:
                connector.remove_members(work.link.target_id, to_remove)
        except ConnectorError as error:
            if error.stops_job:
                raise StopCycle(error) from error
            work.log_action = LogAction.UPDATE
            work.action = "update"
            self.fail_with_connector_error(work, error)
            return False
        link = work.link
        exported = dict(link.last_exported or {})
        members = (set(exported.get("members") or []) | set(to_add)) - set(to_remove)
        exported["members"] = sorted(members)
        self.set_exported(link, exported, state=link.state)
        work.steps.append(
            Step(
                "Action",
                LogStatus.SUCCESS,
                _("Members: %(added)d added, %(removed)d removed")
                % {"added": len(to_add), "removed": len(to_remove)},
            )
        )
        self.log(
            work,
            LogAction.UPDATE,
            LogStatus.SUCCESS,
            properties=[
                {"name": "members (added)", "old": None, "new": sorted(to_add)},
                {"name": "members (removed)", "old": sorted(to_remove), "new": None},
            ],
        )
        return True
