"""DAVIS-2017 semi-supervised J/F scoring, identical to the official evaluation."""

from rpmbench.evaluation.evaluate import GLOBAL_COLUMNS, EvaluationResult, evaluate_results, score_sequence

__all__ = ["GLOBAL_COLUMNS", "EvaluationResult", "evaluate_results", "score_sequence"]
