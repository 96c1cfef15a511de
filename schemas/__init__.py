"""Row models of every artifact the pipeline writes (one module per artifact family).

Column names exist once, as the field names below; writers validate rows before writing, readers
check columns and rows on load (see ``schemas.table``).
"""

from schemas.metrics import (AnswerEvalRow, EvalMetrics, JudgeEvalRow, PairMetrics, RolloutMetrics,
                             SearchEvalMetrics, SolutionRolloutMetrics, TaskSearchMetrics)
from schemas.pairs import PreferencePair
from schemas.problems import Problem
from schemas.real import LabelledSolution, ModelSolution, PerturbedSolution
from schemas.rollout import Candidate, Judgment, Round, SearchPath
from schemas.sets import EFTRecord, IFTRecord, SolutionEFTRecord
from schemas.solutions import SolutionJudgment, SolutionSample
from schemas.table import ArtifactError, Row

__all__ = [
    "AnswerEvalRow",
    "ArtifactError",
    "Candidate",
    "EFTRecord",
    "EvalMetrics",
    "IFTRecord",
    "JudgeEvalRow",
    "Judgment",
    "LabelledSolution",
    "ModelSolution",
    "PairMetrics",
    "PerturbedSolution",
    "PreferencePair",
    "Problem",
    "RolloutMetrics",
    "Round",
    "Row",
    "SearchPath",
    "SearchEvalMetrics",
    "SolutionEFTRecord",
    "SolutionJudgment",
    "SolutionRolloutMetrics",
    "SolutionSample",
    "TaskSearchMetrics",
]
