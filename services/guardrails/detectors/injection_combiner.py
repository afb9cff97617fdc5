"""One calibrated injection score from the rule score and the learned model's logit.

``score = max(rule_score, sigmoid(model * model_logit + bias))``: the model's logit is Platt-scaled on a
validation split (``bench/injection_train.py``) with its decision threshold folded into ``bias``, so both
signals mean the same at the detector's 0.5 threshold; the maximum keeps every rule decision (the rules are
precise: they only ever add evidence) and lets the model add what the rules miss. The parameters ship in
the model file.
"""

from __future__ import annotations

import math

__all__ = ["Combiner"]


class Combiner:
    __slots__ = ("bias", "model")

    def __init__(self, *, model: float, bias: float) -> None:
        if not model >= 0.0:
            raise ValueError("model must be a non-negative scale")
        self.model, self.bias = model, bias

    def model_probability(self, model_logit: float) -> float:
        z = self.model * model_logit + self.bias
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def combine(self, rule_score: float, model_logit: float) -> float:
        return max(rule_score, self.model_probability(model_logit))
