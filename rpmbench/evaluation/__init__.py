"""DAVIS-2017 semi-supervised J/F scoring, identical to the official evaluation."""

from rpmbench.evaluation.evaluate import GLOBAL_COLUMNS, EvaluationResult, evaluate_results, score_sequence
from rpmbench.evaluation.metrics import boundary_f, jaccard, label_scores

__all__ = ["GLOBAL_COLUMNS", "EvaluationResult", "boundary_f", "evaluate_results", "jaccard",
           "label_scores", "score_sequence"]
