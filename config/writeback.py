"""The ``writeback:`` section: what leadflow writes back to the CRM, and how much.

Off by default. When enabled, SLA breaches (rules ``first_touch`` and ``accept_reject``)
become tasks for the owning rep in the CRM the person's lead came from (HubSpot tasks,
Salesforce ``Task``), and (with ``properties: true``) each person's stage, scores and
reasons are written to their CRM record. The CRMs written to are the hubspot and salesforce
sources named by ``sources`` (keys of ``sources:``; by default every one configured); each
source's credentials write to its own records.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TASK_RULES = ("first_touch", "accept_reject")


class WritebackSettings(BaseModel):
    """``leadflow writeback`` and the last step of ``speed-to-lead``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="off by default: nothing is written to a CRM")
    sources: tuple[str, ...] = Field(
        (),
        description="the hubspot and salesforce entries of sources: written to, in order of "
        "preference for a person with leads in several (default: every one configured)",
    )
    source: str | None = Field(
        None, description="one CRM source to write to (the older form of sources)"
    )
    rules: tuple[Literal["first_touch", "accept_reject"], ...] = Field(
        TASK_RULES, description="the SLA rules whose breaches become tasks"
    )
    before_minutes: float = Field(
        0,
        ge=0,
        description="also a task for a pending evaluation due within this many minutes",
    )
    lookback_days: float = Field(
        7,
        gt=0,
        description="breaches whose deadline passed longer ago than this get no task: "
        "turning write-back on does not fill the reps' queues with old breaches",
    )
    on_met: Literal["leave", "complete"] = Field(
        "leave", description="a task whose evaluation became met: left open, or completed"
    )
    properties: bool = Field(
        False,
        description="write leadflow_stage, leadflow_fit_score, leadflow_engagement_score and "
        "leadflow_reasons to the contacts whose values changed",
    )
    max_writes_per_run: int = Field(
        200,
        ge=1,
        le=100_000,
        description="task creations, completions and records updated per run and CRM",
    )
