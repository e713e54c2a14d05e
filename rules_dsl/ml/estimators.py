"""Rules in scikit-learn: as features (``RuleFeatures``) and as a classifier (``RulePredictor``).

Layer rule: this package (rules_dsl.ml: this module and routing.py) is the only part of rules_dsl that imports
scikit-learn (fallback.py, and analysis.py outside the package, need only NumPy and pandas). Both estimators
follow scikit-learn's conventions: ``__init__`` only
stores parameters, ``fit`` validates and records ``feature_names_in_`` / ``n_features_in_`` (and ``classes_``),
fitted attributes end in ``_``.

Input. Rules read columns by name, so a pandas DataFrame is the natural input: at fit and after it, extra columns
are fine and the order of the columns does not matter (scikit-learn's own check that the columns at predict time
are the fitted ones, in the same order, is not applied: the rules find their columns by name). A NumPy array has
no names:

- after fitting on a DataFrame, an array with the same number of columns is read in the fitted column order
  (``feature_names_in_``); another number of columns is a ValueError naming that order;
- fitted on an array, the columns are called ``x0, x1, ...`` (scikit-learn's names for unnamed features), which
  only a rule set written over such columns can use; any other rule set raises a DataError asking for a DataFrame.

A missing column is a ``DataError`` naming the columns and the rules that need them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils import assert_all_finite
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted, column_or_1d, validate_data

from ..errors import DataError
from ..policy import Decision, decide, order_voters, vote_scores
from ..ruleset import RuleSet

__all__ = ["RuleFeatures", "RulePredictor", "Explanation", "FiredRule"]

COUNT_COLUMN = "rules_fired"
VOTE_PREFIX = "vote_"


class _RuleInput:
    """What both estimators share: the rule set parameter and reading X as a frame with named columns."""

    def _check_ruleset(self) -> RuleSet:
        if not isinstance(self.ruleset, RuleSet):
            raise TypeError(f"ruleset must be a rules_dsl.RuleSet (from rules_dsl.load(...) or "
                            f"rules_dsl.load_from_server(...)), not {type(self.ruleset).__name__}.")
        return self.ruleset

    def _frame(self, X, reset: bool) -> pd.DataFrame:
        """X as a DataFrame whose columns the rules can read, after scikit-learn's checks on X."""
        ruleset = self.ruleset
        if isinstance(X, pd.DataFrame) and len(X.columns) and all(isinstance(c, str) for c in X.columns):
            # Our own column check comes first: it names the rules that need a missing column.
            ruleset.check_columns(X.columns)
            if reset:
                validate_data(self, X, reset=True, skip_check_array=True)
            # After fit, columns are found by name: extra ones and another order are fine (scikit-learn's
            # feature-name check would refuse both), so only the rules' own columns are checked.
            return X
        # No column names: an array, or a frame with non-text column labels (scikit-learn does not take those
        # for names either). Columns are read by position.
        data = X if isinstance(X, pd.DataFrame) else check_array(X, dtype=None, ensure_all_finite=False)
        fitted_names = None if reset else getattr(self, "feature_names_in_", None)
        if fitted_names is not None:
            if data.shape[1] != len(fitted_names):
                raise ValueError(f"X has {data.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{len(fitted_names)} features as input. Data without column names is read by "
                                 f"position, in the order of the columns at fit: {_shown(fitted_names)}. Pass a "
                                 "pandas DataFrame to have the columns read by name.")
            columns = list(fitted_names)
        else:
            validate_data(self, data, reset=reset, skip_check_array=True)
            columns = [f"x{i}" for i in range(data.shape[1])]
        if isinstance(data, pd.DataFrame):
            frame = data.set_axis(columns, axis=1)
        else:
            frame = pd.DataFrame(data, columns=columns, copy=False)
        try:
            ruleset.check_columns(frame.columns)
        except DataError as e:
            # "N feature(s)" is the wording scikit-learn's checks look for in this error (check_fit2d_1feature).
            raise DataError(f"{e.message} The input has no column names, so its {len(columns)} feature(s) are "
                            f"called {', '.join(columns[:2])}{' ...' if len(columns) > 2 else ''} by position: "
                            "pass a pandas DataFrame with the vocabulary's column names.", e.column) from None
        return frame


class RuleFeatures(_RuleInput, TransformerMixin, BaseEstimator):
    """One 0/1 column per enabled rule (named by rule id), optionally the count of rules that fired and the vote
    per label.

    Parameters
    ----------
    ruleset : RuleSet
        A pinned rule set (``rules_dsl.load_from_server(..., version=...)`` or ``rules_dsl.load(path)``).
    counts : bool, default False
        Add ``rules_fired``: how many enabled rules fired on the row.
    votes : bool, default False
        Add ``vote_<label>`` per outcome label: the summed confidence of the firing rules concluding that label
        (whatever the policy; rules without a conclusion do not vote).

    The output is a NumPy array (or a DataFrame after ``set_output(transform="pandas")``): of dtype bool when only
    the rule columns are asked for (no copy of the evaluator's result), of dtype float64 when counts or votes are
    added. Missing values follow the language: a rule whose condition is unknown does not fire (0).
    """

    def __init__(self, ruleset, counts=False, votes=False):
        self.ruleset = ruleset
        self.counts = counts
        self.votes = votes

    def fit(self, X, y=None):
        """Check that X has the columns the rules read; record the input and output names."""
        ruleset = self._check_ruleset()
        self._frame(X, reset=True)
        names = list(ruleset.rule_ids)
        if self.counts:
            names.append(COUNT_COLUMN)
        if self.votes:
            names.extend(f"{VOTE_PREFIX}{label}" for label in ruleset.outcome.labels)
        self.rule_ids_ = np.asarray(ruleset.rule_ids, dtype=object)
        self.feature_names_out_ = np.asarray(names, dtype=object)
        return self

    def transform(self, X):
        check_is_fitted(self)
        frame = self._frame(X, reset=False)
        fired = self.ruleset.matches_array(frame)  # (rows x rules) bool, rule_ids order
        if not (self.counts or self.votes):
            return fired
        # One float64 block, filled in place, built as (columns x rows) so that every step runs over contiguous
        # memory (the evaluator's result is rules x rows too): the rules, then the count, then the votes.
        by_rule = fired.T
        k = by_rule.shape[0]
        out = np.empty((len(self.feature_names_out_), by_rule.shape[1]))
        np.copyto(out[:k], by_rule)
        row = k
        if self.counts:
            np.sum(out[:k], axis=0, out=out[row])
            row += 1
        if self.votes:
            np.matmul(self._vote_weights().T, out[:k], out=out[row:])
        return out.T  # rows x columns (Fortran order; scikit-learn and pandas take it without a copy)

    def _vote_weights(self) -> np.ndarray:
        """(rules x labels): each concluding rule's confidence in its label's column."""
        ruleset = self.ruleset
        labels, position = ruleset.outcome.labels, {rule_id: j for j, rule_id in enumerate(ruleset.rule_ids)}
        weights = np.zeros((len(position), len(labels)))
        for voter in ruleset.voters:
            weights[position[voter.id], labels.index(voter.label)] += voter.weight
        return weights

    def get_feature_names_out(self, input_features=None):
        """The rule ids, then ``rules_fired`` and ``vote_<label>`` when asked for (input names do not change them)."""
        check_is_fitted(self)
        _check_input_features(self, input_features)
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True       # missing values are part of the language
        tags.input_tags.string = True          # category and text features
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []  # the output is indicators and counts, not the input's dtype
        return tags


@dataclass(frozen=True)
class FiredRule:
    id: str
    name: str
    text: str
    version: str | None          # the rule set's release (or commit) the rule comes from
    label: str | None            # the rule's conclusion; None for a feature-only rule
    confidence: float | None


@dataclass(frozen=True)
class Explanation:
    """Why a row got its prediction."""

    label: str | int             # what predict() answers (a class of classes_)
    abstained: bool              # True: no rule decided and the rule set abstains; label is abstain_label
    fired: tuple[FiredRule, ...]
    deciding: tuple[str, ...]    # ids of the rules that carried the label (empty: default or abstain)
    scores: dict[str, float]
    reason: str

    def to_dict(self) -> dict:
        return asdict(self) | {"fired": [asdict(r) for r in self.fired], "deciding": list(self.deciding)}


class RulePredictor(_RuleInput, ClassifierMixin, BaseEstimator):
    """The rule set as a classifier, following its policy (first match or weighted vote).

    Parameters
    ----------
    ruleset : RuleSet
    abstain_label : str or None, default None
        What ``predict`` answers where no rule with a conclusion fires and the rule set has no default label
        (it abstains). None uses the rule set's default; when the rule set abstains and no abstain_label is given,
        ``fit`` raises, because scikit-learn needs a label for every row. ``explain`` tells abstentions apart.

    Fitting learns nothing: the rules are fixed. ``fit(X, y)`` checks the columns and that y's classes are the
    outcome's labels, and records ``classes_``: the outcome's labels, sorted (as ``np.unique`` sorts them, like
    every scikit-learn classifier), as text; or as integers when y holds integers and the labels are whole numbers
    (``labels: [0, 1]``), so that predictions compare equal to y. ``y`` may be None (nothing to check: classes_
    are the labels as text). The columns of ``predict_proba`` follow ``classes_``, not the outcome's order, so
    scikit-learn's scorers (roc_auc, neg_log_loss) read the right column.

    ``predict_proba``:

    - weighted vote: the firing rules' votes, normalised to sum to 1;
    - first match: the deciding rule's confidence on its label, the rest spread evenly over the other labels
      (a rule without a confidence counts as 1);
    - no rule with a conclusion fired: uniform over the labels (the rules give no evidence), even though
      ``predict`` answers the default / abstain_label there.

    So ``argmax(predict_proba)`` equals ``predict`` except on rows no rule decided (unless the default is the
    first of ``classes_``) and on first-match rules whose confidence is below 1 / number of labels.
    """

    def __init__(self, ruleset, abstain_label=None):
        self.ruleset = ruleset
        self.abstain_label = abstain_label

    def fit(self, X, y=None):
        ruleset = self._check_ruleset()
        labels = ruleset.outcome.labels
        fallback = self.abstain_label if self.abstain_label is not None else ruleset.policy.default
        if fallback is None:
            raise ValueError(f"The rule set '{ruleset.id or ruleset.title}' abstains when no rule fires, and "
                             "scikit-learn needs a label for every row: pass abstain_label=<one of "
                             f"{', '.join(labels)}> to RulePredictor.")
        frame = self._frame(X, reset=True)
        if y is None:
            classes = np.asarray(labels)
        else:
            y = column_or_1d(y, warn=True)
            check_consistent_length(frame, y)
            missing = pd.isna(y)
            if missing.any():
                raise ValueError(f"y has no label (NaN or None) in {missing.sum()} of {len(y)} rows; drop those "
                                 "rows or label them.")
            if y.dtype.kind == "f":
                assert_all_finite(y, input_name="y")
            check_classification_targets(y)
            classes = _classes(ruleset.outcome, y)
        fallback = str(fallback) if _is_integer(fallback) else fallback
        if fallback not in labels:
            raise ValueError(f"abstain_label '{fallback}' is not a label of the outcome "
                             f"'{ruleset.outcome.name}' ({', '.join(labels)}).")
        # classes holds the labels in the outcome's order (what the evaluator computes in); classes_ is sorted,
        # and _proba_order_ picks the outcome-ordered columns in classes_' order.
        order = np.argsort(classes, kind="stable")
        self.classes_ = classes[order]
        self._labels_class_ = classes
        self._proba_order_ = order
        self.abstain_label_ = classes[labels.index(fallback)].item()
        self._class_of_label = dict(zip(labels, classes.tolist()))
        ruleset.matches_row({})  # builds the per-row evaluator now, not on the first (deadline-bound) predict_row
        return self

    # ---- predictions ---------------------------------------------------------------------------------------
    def predict(self, X) -> np.ndarray:
        """The label per row under the rule set's policy; abstain_label_ where the rules abstain."""
        check_is_fitted(self)
        frame = self._frame(X, reset=False)
        decided = self.ruleset.decide(frame)
        codes = pd.Categorical(decided, categories=self.ruleset.outcome.labels).codes
        return np.where(codes >= 0, self._labels_class_[codes], self.abstain_label_).astype(self.classes_.dtype)

    def predict_row(self, row: Mapping) -> str:
        """The label for one case (column -> value), through the per-row evaluator: microseconds."""
        label = self.ruleset.decide_row(row).label
        return self.abstain_label_ if label is None else self._class_of_label[label]

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        frame = self._frame(X, reset=False)
        ruleset = self.ruleset
        matches = pd.DataFrame(ruleset.matches_array(frame), columns=ruleset.rule_ids, copy=False)
        k = len(self.classes_)
        if ruleset.policy.kind == "weighted vote":
            proba = vote_scores(matches, ruleset.voters, ruleset.outcome)
        else:
            proba = _first_match_proba(matches, ruleset, k)
        totals = proba.sum(axis=1, keepdims=True)
        undecided = totals[:, 0] <= 0
        np.divide(proba, totals, out=proba, where=~undecided[:, None])
        proba[undecided] = 1.0 / k
        return proba[:, self._proba_order_]  # outcome order -> classes_ order

    def predict_log_proba(self, X) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def explain(self, X) -> list[Explanation]:
        """Per row: the rules that fired (id, name, text, version), the label and why it won."""
        check_is_fitted(self)
        frame = self._frame(X, reset=False)
        ruleset = self.ruleset
        fired = ruleset.matches_array(frame)
        ids = ruleset.rule_ids
        by_id = {r.id: r for r in ruleset.active_rules}
        version = ruleset.release or ruleset.version
        voters = order_voters(ruleset.voters)

        def fired_rule(rule_id: str) -> FiredRule:
            rule = by_id[rule_id]
            c = rule.conclusion
            return FiredRule(rule.id, rule.name, rule.text, version, c.label if c else None,
                             float(c.confidence) if c is not None and c.confidence is not None else None)

        out = []
        for row in fired:
            names = [ids[j] for j in np.flatnonzero(row)]
            d: Decision = decide(names, voters, ruleset.outcome, ruleset.policy)
            reason = d.reason
            if d.label is None:
                reason += f" Predicted {self.abstain_label_} (abstain_label)."
            label = self.abstain_label_ if d.label is None else self._class_of_label[d.label]
            out.append(Explanation(label, d.label is None,
                                   tuple(fired_rule(i) for i in names), d.deciding, dict(d.scores), reason))
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.poor_score = True  # fixed rules, not fitted to the data they are scored on
        if isinstance(self.ruleset, RuleSet):
            tags.classifier_tags.multi_class = len(self.ruleset.outcome.labels) > 2
        return tags


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _classes(outcome, y: np.ndarray) -> np.ndarray:
    """The outcome's labels in y's representation: text, or integers when y holds integers and the labels are
    whole numbers written as text (labels: [0, 1]). Raises when y has a class the rules cannot answer."""
    labels = outcome.labels
    values = pd.unique(y)
    if y.dtype.kind in "iu":
        if not all(label.lstrip("-").isdigit() and str(int(label)) == label for label in labels):
            raise ValueError(f"y has integer classes but the labels of the outcome '{outcome.name}' are text "
                             f"({', '.join(labels)}); map y to these labels first.")
        classes = np.asarray([int(label) for label in labels])
        foreign = sorted(str(v) for v in set(values.tolist()) - set(classes.tolist()))
    else:
        classes = np.asarray(labels)
        foreign = sorted({repr(v) if not isinstance(v, str) else v for v in values
                          if not (isinstance(v, str) and v in labels)})
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        binary = "Only binary classification is supported by this rule set. " if len(labels) == 2 < len(values) else ""
        raise ValueError(f"{binary}y has classes that are not labels of the outcome '{outcome.name}': {shown}. "
                         f"The rules answer {', '.join(labels)}; map y to these labels first.")
    return classes


def _first_match_proba(matches: pd.DataFrame, ruleset: RuleSet, k: int) -> np.ndarray:
    """Per row: the deciding rule's confidence on its label, the rest evenly on the others; zeros if none."""
    n = len(matches)
    proba = np.zeros((n, k))
    undecided = np.ones(n, dtype=bool)
    labels = ruleset.outcome.labels
    for voter in order_voters(ruleset.voters):
        hit = matches[voter.id].to_numpy() & undecided
        if not hit.any():
            continue
        rest = (1.0 - voter.weight) / (k - 1) if k > 1 else 0.0
        proba[hit] = rest
        proba[hit, labels.index(voter.label)] = voter.weight if k > 1 else 1.0
        undecided &= ~hit
    return proba


def _shown(names, limit: int = 6) -> str:
    shown = ", ".join(f"'{name}'" for name in list(names)[:limit])
    return shown + (f" ... ({len(names)} columns)" if len(names) > limit else "")


def _check_input_features(estimator, input_features) -> None:
    """scikit-learn's contract for ``get_feature_names_out(input_features)``: the names must be the fitted ones."""
    if input_features is None:
        return
    input_features = np.asarray(input_features, dtype=object)
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and not np.array_equal(fitted, input_features):
        raise ValueError("input_features is not equal to feature_names_in_")
    if len(input_features) != estimator.n_features_in_:
        raise ValueError(f"input_features should have length equal to number of features "
                         f"({estimator.n_features_in_}), got {len(input_features)}")
