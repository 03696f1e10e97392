"""Engagements as the store keeps them: who engaged which profiles in a workflow or
a trigger campaign (SPEC §3 step 5), one document per request or task slice."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.domain.importing import SliceResult
from mockserver.domain.items import AttachmentSummary, ImportOptions


@dataclass(frozen=True, slots=True)
class Engagement:
    """SPEC §3 step 5: engaging profiles in a workflow or a trigger campaign, and
    who asked for it.

    `source` is the vendor method that engaged the profile
    (`workflows/import_and_start_batch_task`, `workflows/start`,
    `campaigns/triggers/import_and_start`, ...), so a test can tell the paths
    apart in `GET /_mock/engagements?source=...`. A trigger launch has no
    workflow (`workflow_id` None) and names its `trigger_id`.
    """

    account: str
    workflow_id: int | None
    source: str
    task_id: str | None = None
    skip_triggers: bool = False
    #: What `workflows/start` adds: `resource_id`, `subscription_filter`.
    details: Mapping[str, Any] = field(default_factory=dict)
    trigger_id: int | None = None

    def record(
        self,
        profile_id: str,
        *,
        created: bool,
        content: Mapping[str, Any] | None,
        custom_data: Mapping[str, Any] | None,
        attach: Sequence[AttachmentSummary],
        at: str,
    ) -> dict[str, Any]:
        launched = {} if self.trigger_id is None else {"trigger_id": self.trigger_id}
        return {
            "account": self.account,
            "workflow_id": self.workflow_id,
            **launched,
            "profile_id": profile_id,
            "created": created,
            "task_id": self.task_id,
            "source": self.source,
            "content": content,
            "custom_data": custom_data,
            "attach": [a.to_doc() for a in attach],
            "skip_triggers": self.skip_triggers,
            **self.details,
            "time": at,
        }

    def of_imports(self, done: SliceResult, options: ImportOptions, at: str) -> dict[str, Any]:
        """One stored document for the profiles a slice of an import engaged.

        What they share is kept once; each profile is `[profile_id, created]`,
        plus its own content, custom_data and attach when the item carried
        them. `engagement_records` gives back one record per profile, as
        `record` builds it: per-profile records cost a dict of a dozen keys
        per imported profile, in memory and on disk."""
        content, custom_data, attach = options.content, options.custom_data, options.attach
        extras = done.extras
        profiles: list[list[Any]] = [
            [profile_id, created]
            for profile_id, created in zip(done.profile_ids, done.created, strict=True)
            if profile_id is not None
        ]
        if extras:
            engaged = [offset for offset, pid in enumerate(done.profile_ids) if pid is not None]
            for entry, offset in zip(profiles, engaged, strict=True):
                own = extras.get(offset)
                if own is not None:
                    entry += [own[0], own[1], [a.to_doc() for a in own[2]]]
        shared = self.record(
            "", created=False, content=content, custom_data=custom_data, attach=attach, at=at
        )
        del shared["profile_id"], shared["created"]
        shared[BATCH_PROFILES] = profiles
        return shared


#: The key of a stored engagement document that holds several profiles.
BATCH_PROFILES = "profiles"


def engagement_records(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The per-profile records a stored engagement document holds, in order."""
    entries = doc.get(BATCH_PROFILES)
    if entries is None:
        yield dict(doc)  # one profile's record (`record`)
        return
    head = {"account": doc["account"], "workflow_id": doc["workflow_id"]}
    if "trigger_id" in doc:
        head["trigger_id"] = doc["trigger_id"]
    rest = {k: v for k, v in doc.items() if k not in head and k != BATCH_PROFILES}
    for entry in entries:
        record = {**head, "profile_id": entry[0], "created": entry[1], **rest}
        if len(entry) > 2:
            record["content"], record["custom_data"], record["attach"] = entry[2:5]
        yield record


def engagement_count(doc: Mapping[str, Any]) -> int:
    entries = doc.get(BATCH_PROFILES)
    return 1 if entries is None else len(entries)
