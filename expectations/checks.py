"""What the checks are asked to verify and what they found: plain values, no Great Expectations.

:class:`SlaRuleCheck` describes one SLA rule to validate;
:func:`leadflow.expectations.runner.run_checks` answers with a :class:`CheckReport` of
:class:`RuleOutcome` (one per rule) and :class:`QualityOutcome` (one per data-quality expectation).
Outcomes carry ids only (person ids, ``source:source_lead_id``, ``group_key``), never emails or
phone numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("critical", "warning")
QUALIFIED_VOLUME = "qualified_volume"
# The cap on unexpected ids per rule outcome; the counts are always complete.
MAX_UNEXPECTED_IDS = 1000


@dataclass(frozen=True)
class SlaRuleCheck:
    """One SLA rule to validate.

    ``target`` is the share (0..1) of decided evaluations (met + breached; pending excluded)
    that must be met. For ``qualified_volume`` it is ignored: every period group of the run's
    ``sla_results`` must have passed its volume target.
    """

    rule: str
    description: str
    severity: str
    target: float

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity of {self.rule!r} must be one of {SEVERITIES}")
        if not 0.0 <= self.target <= 1.0:
            raise ValueError(f"target of {self.rule!r} must be a share between 0 and 1")


@dataclass(frozen=True)
class RuleOutcome:
    """What the validation of one SLA rule found in the checked periods.

    ``evaluated`` counts decided evaluations (for ``qualified_volume``: decided period
    groups), ``breached`` the breached ones (failed groups). ``unexpected_ids`` are the
    breached person ids (failed ``group_key`` values), distinct and sorted, at most
    :data:`MAX_UNEXPECTED_IDS`. ``percentage`` is 100 * met / decided, None when nothing
    was decided.
    """

    rule: str
    severity: str
    description: str
    success: bool
    evaluated: int
    breached: int
    unexpected_ids: list[str]
    percentage: float | None


@dataclass(frozen=True)
class QualityOutcome:
    """One data-quality expectation on the loaded warehouse and the ids of some bad rows.

    ``unexpected_count`` counts the bad rows (for a uniqueness check: the duplicated keys);
    ``sample_ids`` are at most 20 of their ids, sorted.

    ``severity`` is how a failure counts in :meth:`CheckReport.failed` (``warning`` by
    default: bad rows are reported, the run goes on).
    """

    expectation: str
    table: str
    success: bool
    unexpected_count: int
    sample_ids: list[str]
    severity: str = "warning"


@dataclass(frozen=True)
class CheckReport:
    """Every outcome of one :func:`~leadflow.expectations.runner.run_checks` call."""

    rules: list[RuleOutcome]
    quality: list[QualityOutcome]
    data_docs_index: str | None

    def failed(self, severity: str | None = None) -> list[str]:
        """Names of failed rules, then ``quality:<expectation>`` of failed quality checks.

        With ``severity``, only the failures of that severity.
        """
        rules = [r.rule for r in self.rules if not r.success and _matches(r.severity, severity)]
        quality = [
            f"quality:{q.expectation}"
            for q in self.quality
            if not q.success and _matches(q.severity, severity)
        ]
        return rules + quality


def _matches(actual: str, wanted: str | None) -> bool:
    return wanted is None or actual == wanted
