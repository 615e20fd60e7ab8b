"""Feedback triage: language, sentiment, complaint, reason, category, urgency and routing.

`TriageEngine(models, config).triage(text)` returns a `TriageResult`; the rules and tables are
config (`load_triage_config`), with defaults shipped beside this module as YAML.
"""

from models.triage.arguments import TriageInputError
from models.triage.config import TriageConfig, load_triage_config
from models.triage.engine import TriageEngine
from models.triage.schema import TriageResult
from models.triage.task_models import TaskModel

__all__ = [
    "TaskModel",
    "TriageConfig",
    "TriageEngine",
    "TriageInputError",
    "TriageResult",
    "load_triage_config",
]
