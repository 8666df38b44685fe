"""A fitted ranker kept in one versioned JSON file (`model.json` beside this module).

The linear part is a dot product over standardised features (a logistic regression). The shipped ranker adds
gradient-boosted trees over the same features (LightGBM LambdaRank, trained on each question's candidate list)
and blends the two: ``w_linear · linear logit + w_trees · tree score + b`` through the logistic function,
the weights and the calibration fitted on held-out tree scores (`evals/fit_ranker.py`, which writes the file and
reports cross-validated figures). Either way a score reads as the probability that the article answers the
question. The answerability model (`answerable.py`) is a linear one in the same format.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .features import FEATURES

MODEL_FILE = Path(__file__).resolve().parent / "model.json"


class RankerError(ValueError):
    pass


@dataclass
class LinearRanker:
    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    version: str = ""
    info: dict = field(default_factory=dict)

    def logits(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return np.zeros(0)
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def scores(self, x: np.ndarray) -> np.ndarray:
        """P(relevant) of each row of `x` (columns in `FEATURES` order)."""
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    def to_json(self) -> dict:
        return {"version": self.version, "features": self.features, "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist(), "coef": self.coef.round(6).tolist(),
                "intercept": round(float(self.intercept), 6), "info": self.info}

    def save(self, path: Path = MODEL_FILE) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    def top_features(self, n: int = 10) -> list[tuple[str, float]]:
        order = np.argsort(-np.abs(self.coef))[:n]
        return [(self.features[i], float(self.coef[i])) for i in order]


@dataclass
class BlendedRanker(LinearRanker):
    """The linear model plus boosted trees on the same features. The trees can weigh a signal by the value of
    another (interactions a sum of weights cannot express); the linear part keeps the ranking steady where the
    trees saw few examples (held out, the blend beats either part alone: evals/README.md)."""

    trees: str = ""  # LightGBM's model text
    blend: dict = field(default_factory=dict)  # w_linear, w_trees, b

    def __post_init__(self) -> None:
        import lightgbm

        self._booster = lightgbm.Booster(model_str=self.trees)
        if self._booster.num_feature() != len(self.features):
            raise RankerError(f"the trees read {self._booster.num_feature()} features, the model names "
                              f"{len(self.features)}")

    def tree_gain(self) -> np.ndarray:
        """Each feature's total split gain in the trees."""
        return self._booster.feature_importance("gain")

    def tree_scores(self, x: np.ndarray) -> np.ndarray:
        return self._booster.predict(x, num_threads=1) if x.size else np.zeros(0)

    def logits(self, x: np.ndarray) -> np.ndarray:
        if x.size == 0:
            return np.zeros(0)
        b = self.blend
        return b["w_linear"] * super().logits(x) + b["w_trees"] * self.tree_scores(x) + b["b"]

    def to_json(self) -> dict:
        return {**super().to_json(), "blend": {k: round(float(v), 6) for k, v in self.blend.items()},
                "trees": self.trees}


def load_model(path: Path, features: list[str], what: str, refit: str) -> LinearRanker:
    """A model file (linear, or blended with trees), checked against the features this code computes: a stale file
    fails loudly."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RankerError(f"{path}: {what} missing; fit it with `{refit}`") from e
    except json.JSONDecodeError as e:
        raise RankerError(f"{path}:{e.lineno}: {what} is not valid JSON: {e.msg}") from e
    feats = d.get("features")
    if feats != features:
        raise RankerError(f"{path}: the {what} was fitted on other features than this code computes "
                          f"(missing {sorted(set(features) - set(feats or []))}, extra "
                          f"{sorted(set(feats or []) - set(features))}); refit with `{refit}`")
    n = len(features)
    arrays = {k: np.asarray(d.get(k, []), dtype=np.float64) for k in ("mean", "scale", "coef")}
    if any(a.shape != (n,) for a in arrays.values()):
        raise RankerError(f"{path}: mean, scale and coef must each hold {n} numbers")
    scale = np.where(arrays["scale"] > 0, arrays["scale"], 1.0)
    args = (list(feats), arrays["mean"], scale, arrays["coef"], float(d.get("intercept", 0.0)),
            str(d.get("version", "")), dict(d.get("info", {})))
    if "trees" not in d:
        return LinearRanker(*args)
    blend = d.get("blend") or {}
    if not isinstance(d["trees"], str) or set(blend) != {"w_linear", "w_trees", "b"}:
        raise RankerError(f"{path}: the {what} names trees but not as LightGBM text with its blend "
                          f"(w_linear, w_trees, b); refit with `{refit}`")
    try:
        return BlendedRanker(*args, trees=d["trees"], blend={k: float(v) for k, v in blend.items()})
    except RankerError as e:
        raise RankerError(f"{path}: {e}; refit with `{refit}`") from e
    except Exception as e:  # LightGBM's own error on unreadable model text
        raise RankerError(f"{path}: the {what}'s trees cannot be read ({e}); refit with `{refit}`") from e


def load_ranker(path: Path = MODEL_FILE) -> LinearRanker:
    return load_model(path, FEATURES, "ranker model", "htp eval fit-ranker")


def carried_over(path: Path = MODEL_FILE) -> LinearRanker:
    """The fitted model of `path` read onto the features this code computes: a new feature weighs 0, a dropped
    one is left out. It ranks as the old model did, so rows collected with it for a refit see the same follow-up
    contexts as users did (the identity ranker would reorder them). Trees are tied to the old columns and are left
    out: the linear part is a calibrated model of its own. Raises RankerError without a readable file."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        old = list(d["features"])
        arrays = {k: dict(zip(old, d[k])) for k in ("mean", "scale", "coef")}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RankerError(f"{path}: no fitted model to carry over ({e})") from e
    defaults = {"mean": 0.0, "scale": 1.0, "coef": 0.0}
    mean, scale, coef = (np.array([float(arrays[k].get(f, defaults[k])) for f in FEATURES])
                         for k in ("mean", "scale", "coef"))
    return LinearRanker(list(FEATURES), mean, np.where(scale > 0, scale, 1.0), coef,
                        float(d.get("intercept", 0.0)), f"{d.get('version', '')}+carried", {})


def identity_ranker() -> LinearRanker:
    """Before any fit: the fused search score alone (used to collect the first training data)."""
    n = len(FEATURES)
    coef = np.zeros(n)
    coef[FEATURES.index("fused")] = 4.0
    return LinearRanker(list(FEATURES), np.zeros(n), np.ones(n), coef, -2.0, "identity")
