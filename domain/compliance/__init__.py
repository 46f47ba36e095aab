"""The procedure compliance engine: the legal rulebook as data, judged over a case's events."""

from domain.compliance.calendar import WorkingCalendar
from domain.compliance.engine import ComplianceConfig, Evaluation, Finding, Step, evaluate

__all__ = ["ComplianceConfig", "Evaluation", "Finding", "Step", "WorkingCalendar", "evaluate"]
