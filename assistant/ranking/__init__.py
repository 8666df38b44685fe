"""The ranking stage: features of each candidate article and the fitted model that weighs them."""
from .features import FEATURES
from .model import LinearRanker, RankerError, load_ranker

__all__ = ["FEATURES", "LinearRanker", "RankerError", "load_ranker"]
