"""RuleFeatures and RulePredictor: scikit-learn conventions, composition, pickling, and agreement with RuleSet."""
from __future__ import annotations

import pickle
import time

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from rules_dsl import DataError
from rules_dsl.ml import RuleFeatures, RulePredictor

from .ml_rulesets import BREAST_FEATURES, BREAST_RULES, breast_data, breast_ruleset, build, x_ruleset

RAW = ["worst radius", "worst concave points", "mean texture"]


@pytest.fixture(scope="module")
def data():
    frame = breast_data()
    return frame.drop(columns="diagnosis"), frame["diagnosis"]


# ---- scikit-learn's own checks ---------------------------------------------------------------------------------
# The checks feed NumPy arrays, whose columns scikit-learn calls x0, x1, ...; these rule sets are written over those
# names. Each expected failure is a check whose premise a fixed rule set cannot meet; xfail_strict makes a listed
# check that starts passing fail the suite, so the list stays honest.
FIXED_LABELS = ("The rule set's classes are its outcome's labels (0-3), fixed by the rules; the check fits labels "
                "'one', 'two', 'three' that no rule can answer, and fit refuses them.")
CLASSES_FROM_Y = ("The check assumes classes_ are the classes present in y (predict_proba with one column per class "
                  "of y); a rule set answers with all its outcome's labels even when y shows only some of them.")
BINARY_LABELS = ("This rule set is binary with labels 0 and 1; the check fits classes 1 and 2, and label 2 is not "
                 "one the rules can answer.")

CHECKED = [
    RuleFeatures(x_ruleset(columns=1)),
    RuleFeatures(x_ruleset(), counts=True, votes=True),
    RulePredictor(x_ruleset()),
    RulePredictor(x_ruleset(policy="weighted vote")),
    RulePredictor(x_ruleset(labels=("0", "1"))),
]


def expected_failures(estimator) -> dict[str, str]:
    failures = {}
    if isinstance(estimator, RulePredictor):
        failures["check_classifiers_classes"] = FIXED_LABELS
        if len(estimator.ruleset.outcome.labels) > 2:
            failures["check_classifiers_train"] = CLASSES_FROM_Y
        else:
            failures["check_estimators_dtypes"] = BINARY_LABELS
            failures["check_classifier_data_not_an_array"] = BINARY_LABELS
    return failures


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failures, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# ---- RuleFeatures ---------------------------------------------------------------------------------------------
def test_features_are_the_rules_matches_one_column_per_enabled_rule(data):
    X, _ = data
    ruleset = breast_ruleset()
    features = RuleFeatures(ruleset).fit(X)
    out = features.transform(X)
    assert out.dtype == bool and out.shape == (len(X), 5)
    assert list(features.get_feature_names_out()) == ["large-mass", "large-nuclei", "many-concave-points",
                                                      "rough-and-concave", "small-and-smooth"]
    np.testing.assert_array_equal(out, ruleset.matches(X).to_numpy())
    assert features.n_features_in_ == X.shape[1]
    assert list(features.feature_names_in_) == list(X.columns)


def test_disabled_rules_are_not_features():
    rules = dict(BREAST_RULES)
    rules["large-mass"] = rules["large-mass"].replace('rule "Large mass"', 'rule "Large mass"\ndisabled')
    ruleset = build(BREAST_FEATURES, rules, {"name": "diagnosis", "labels": ["benign", "malignant"]},
                    default="benign")
    X = breast_data().drop(columns="diagnosis")
    assert "large-mass" not in RuleFeatures(ruleset).fit(X).get_feature_names_out()


def test_counts_and_votes_columns(data):
    X, _ = data
    ruleset = breast_ruleset()
    features = RuleFeatures(ruleset, counts=True, votes=True).fit(X)
    names = list(features.get_feature_names_out())
    assert names[-3:] == ["rules_fired", "vote_benign", "vote_malignant"]
    out = features.transform(X)
    assert out.dtype == np.float64
    fired = ruleset.matches(X)
    np.testing.assert_array_equal(out[:, :5], fired.to_numpy(dtype=float))
    np.testing.assert_array_equal(out[:, 5], fired.sum(axis=1))
    benign = 0.9 * fired["small-and-smooth"]
    malignant = 0.9 * fired["many-concave-points"] + 0.85 * fired["large-nuclei"] + 0.7 * fired["rough-and-concave"]
    np.testing.assert_allclose(out[:, 6], benign)
    np.testing.assert_allclose(out[:, 7], malignant)


def test_pandas_output_keeps_index_and_names(data):
    X, _ = data
    X = X.iloc[10:20].set_axis([f"case-{i}" for i in range(10)])
    out = RuleFeatures(breast_ruleset(), counts=True).set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == list(X.index)
    assert list(out.columns)[-1] == "rules_fired"
    assert out["many-concave-points"].tolist() == (X["worst concave points"] > 0.16).astype(float).tolist()


def test_missing_column_names_the_columns_and_the_rules(data):
    X, _ = data
    with pytest.raises(DataError) as e:
        RuleFeatures(breast_ruleset()).fit(X.drop(columns=["worst radius", "worst texture"]))
    assert "'worst radius' (needed by large-nuclei, small-and-smooth)" in str(e.value)
    assert "'worst texture' (needed by rough-and-concave)" in str(e.value)
    features = RuleFeatures(breast_ruleset()).fit(X)
    with pytest.raises(DataError, match="'mean area' \\(needed by large-mass\\)"):
        features.transform(X.drop(columns=["mean area"]))


def test_arrays_are_read_by_the_fitted_column_order(data):
    X, _ = data
    features = RuleFeatures(breast_ruleset()).fit(X)
    np.testing.assert_array_equal(features.transform(X.to_numpy()), features.transform(X))
    with pytest.raises(ValueError, match="X has 3 features, but RuleFeatures is expecting 30"):
        features.transform(X.to_numpy()[:, :3])


def test_an_array_without_names_asks_for_a_data_frame(data):
    X, _ = data
    with pytest.raises(DataError, match="no column names.*pass a pandas DataFrame"):
        RuleFeatures(breast_ruleset()).fit(X.to_numpy())


def test_columns_are_read_by_name_extra_and_reordered_columns_after_fit(data):
    X, y = data
    shuffled = X[X.columns[::-1]].assign(**{"case id": np.arange(len(X)), "ward": "B"})  # reversed, two extra
    features = RuleFeatures(breast_ruleset(), counts=True).fit(X)
    np.testing.assert_array_equal(features.transform(shuffled), features.transform(X))
    only_needed = X[list(reversed(breast_ruleset().columns))]  # just the rules' columns, in another order
    np.testing.assert_array_equal(features.transform(only_needed), features.transform(X))
    pandas_out = RuleFeatures(breast_ruleset()).set_output(transform="pandas").fit(X).transform(shuffled)
    assert list(pandas_out.columns) == list(features.rule_ids_)
    predictor = RulePredictor(breast_ruleset()).fit(X, y)
    np.testing.assert_array_equal(predictor.predict(shuffled), predictor.predict(X))
    np.testing.assert_array_equal(predictor.predict_proba(only_needed), predictor.predict_proba(X))
    assert predictor.score(shuffled, y) == predictor.score(X, y)
    assert [e.label for e in predictor.explain(shuffled.iloc[:5])] == list(predictor.predict(X.iloc[:5]))
    # In a pipeline fitted on one layout and used on another (the model behind it sees the rules' columns).
    pipe = model_pipeline(breast_ruleset()).fit(X, y)
    np.testing.assert_array_equal(pipe.predict_proba(shuffled), pipe.predict_proba(X))


def test_an_array_with_another_column_count_says_which_order_it_expects(data):
    X, y = data
    for estimator in (RuleFeatures(breast_ruleset()).fit(X), RulePredictor(breast_ruleset()).fit(X, y)):
        method = estimator.transform if isinstance(estimator, RuleFeatures) else estimator.predict
        with pytest.raises(ValueError) as e:
            method(X.to_numpy()[:, :7])
        message = str(e.value)
        assert f"X has 7 features, but {type(estimator).__name__} is expecting 30 features" in message
        assert "read by position, in the order of the columns at fit: 'mean radius', 'mean texture'" in message
        assert "(30 columns)" in message and "Pass a pandas DataFrame to have the columns read by name" in message


def test_not_a_rule_set_is_a_clear_type_error(data):
    with pytest.raises(TypeError, match="ruleset must be a rules_dsl.RuleSet"):
        RuleFeatures("breast-mass-triage/").fit(data[0])


def model_pipeline(ruleset, **features):
    return Pipeline([("features", RuleFeatures(ruleset, **features)),
                     ("model", LogisticRegression(max_iter=1000))])


def test_in_a_pipeline(data):
    X, y = data
    pipe = model_pipeline(breast_ruleset(), counts=True).fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert list(pipe[:-1].get_feature_names_out())[-1] == "rules_fired"


def test_in_a_column_transformer_beside_raw_features(data):
    X, y = data
    ruleset = breast_ruleset()
    columns = ColumnTransformer([("rules", RuleFeatures(ruleset), ruleset.columns),
                                 ("raw", StandardScaler(), RAW)]).set_output(transform="pandas")
    out = columns.fit_transform(X, y)
    assert list(out.columns) == [f"rules__{i}" for i in ruleset.rule_ids] + [f"raw__{c}" for c in RAW]
    np.testing.assert_array_equal(out[[f"rules__{i}" for i in ruleset.rule_ids]].to_numpy(),
                                  ruleset.matches(X).to_numpy())
    assert make_pipeline(columns, LogisticRegression(max_iter=1000)).fit(X, y).score(X, y) > 0.9


def test_in_a_feature_union(data):
    X, y = data
    union = FeatureUnion([("rules", RuleFeatures(breast_ruleset(), votes=True)),
                          ("raw", ColumnTransformer([("scaled", StandardScaler(), RAW)]))])
    out = union.fit_transform(X, y)
    assert out.shape == (len(X), 5 + 2 + 3)
    assert list(union.get_feature_names_out())[:2] == ["rules__large-mass", "rules__large-nuclei"]


def test_cross_validation_and_grid_search(data):
    X, y = data
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = cross_val_score(model_pipeline(breast_ruleset()), X, y, cv=folds)
    assert scores.shape == (5,) and scores.mean() > 0.9
    search = GridSearchCV(model_pipeline(breast_ruleset()),
                          {"features__counts": [False, True], "model__C": [0.1, 1.0]}, cv=folds).fit(X, y)
    assert set(search.best_params_) == {"features__counts", "model__C"}
    assert search.best_score_ > 0.9
    assert search.cv_results_["mean_test_score"].shape == (4,)


def test_joblib_round_trip_gives_identical_output(tmp_path, data):
    X, y = data
    pipe = model_pipeline(breast_ruleset(), counts=True, votes=True).fit(X, y)
    expected_features = pipe[:-1].transform(X)
    expected_proba = pipe.predict_proba(X)
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    loaded = joblib.load(tmp_path / "pipe.joblib")
    np.testing.assert_array_equal(loaded[:-1].transform(X), expected_features)
    np.testing.assert_array_equal(loaded.predict_proba(X), expected_proba)
    predictor = RulePredictor(breast_ruleset()).fit(X, y)
    predictor.predict_row(X.iloc[0].to_dict())  # compiles the per-row function, which cannot itself be pickled
    copy = pickle.loads(pickle.dumps(predictor))
    np.testing.assert_array_equal(copy.predict(X), predictor.predict(X))
    assert copy.predict_row(X.iloc[3].to_dict()) == predictor.predict_row(X.iloc[3].to_dict())


def test_transform_costs_little_more_than_matches():
    # Generous margin for shared test machines; bench/ml_bench.py measures 1,000,000 rows.
    X = pd.concat([breast_data().drop(columns="diagnosis")] * 200, ignore_index=True)  # 113,800 rows
    ruleset = breast_ruleset()
    features = RuleFeatures(ruleset).fit(X)

    best = {"matches": float("inf"), "transform": float("inf")}
    for _ in range(7):  # interleaved: a busy moment on the machine hits both alike
        for name, function in (("matches", lambda: ruleset.matches(X)), ("transform", lambda: features.transform(X))):
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    assert best["transform"] < 2 * best["matches"] + 0.002, best


# ---- RulePredictor --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["first match", "weighted vote"])
def test_predictions_equal_rule_set_decide(data, policy):
    X, y = data
    ruleset = breast_ruleset(policy)
    predictor = RulePredictor(ruleset).fit(X, y)
    np.testing.assert_array_equal(predictor.predict(X), ruleset.decide(X).to_numpy(dtype=str))
    assert list(predictor.classes_) == ["benign", "malignant"]
    assert predictor.score(X, y) == pytest.approx((ruleset.decide(X) == y).mean())
    rows = X.iloc[:50].to_dict("records")
    assert [predictor.predict_row(r) for r in rows] == list(predictor.predict(X.iloc[:50]))


def test_abstaining_rule_set_needs_an_abstain_label(data):
    X, y = data
    ruleset = breast_ruleset(default=None)
    with pytest.raises(ValueError, match="abstains when no rule fires.*abstain_label"):
        RulePredictor(ruleset).fit(X, y)
    predictor = RulePredictor(ruleset, abstain_label="malignant").fit(X, y)
    decided = ruleset.decide(X)
    predicted = predictor.predict(X)
    assert decided.isna().sum() > 10
    assert (predicted[decided.isna().to_numpy()] == "malignant").all()
    np.testing.assert_array_equal(predicted[decided.notna().to_numpy()], decided.dropna().to_numpy(dtype=str))
    abstained = [e.abstained for e in predictor.explain(X)]
    assert abstained == decided.isna().tolist()
    with pytest.raises(ValueError, match="abstain_label 'maybe' is not a label"):
        RulePredictor(ruleset, abstain_label="maybe").fit(X, y)


def test_y_with_other_labels_is_refused(data):
    X, _ = data
    y01 = (breast_data()["diagnosis"] == "benign").astype(int)
    with pytest.raises(ValueError, match="integer classes but the labels of the outcome 'diagnosis' are text"):
        RulePredictor(breast_ruleset()).fit(X, y01)
    with pytest.raises(ValueError, match="not labels of the outcome 'diagnosis': B, M"):
        RulePredictor(breast_ruleset()).fit(X, np.where(y01, "B", "M"))
    assert RulePredictor(breast_ruleset()).fit(X).classes_.tolist() == ["benign", "malignant"]


def test_integer_labels_follow_y(data):
    X, _ = data
    ruleset = build(BREAST_FEATURES, {k: v.replace('"malignant"', '"1"').replace('"benign"', '"0"')
                                      for k, v in BREAST_RULES.items()},
                    {"name": "diagnosis", "labels": [0, 1]}, default="0")
    y = (breast_data()["diagnosis"] == "malignant").astype(int).to_numpy()
    predictor = RulePredictor(ruleset).fit(X, y)
    assert predictor.classes_.tolist() == [0, 1] and predictor.predict(X).dtype.kind == "i"
    assert predictor.score(X, y) > 0.9
    assert predictor.predict_row(X.iloc[0].to_dict()) == predictor.predict(X.iloc[:1])[0]


# An outcome whose labels are not in alphabetical order: the breast rules with "low" for benign, "high" for
# malignant, listed [low, high]. scikit-learn's scorers read predict_proba's columns in classes_ order, and
# classes_ is sorted in every scikit-learn classifier: ["high", "low"].
def low_high_ruleset(policy: str = "first match"):
    rules = {k: v.replace('diagnosis is "malignant"', 'risk is "high"')
                 .replace('diagnosis is "benign"', 'risk is "low"') for k, v in BREAST_RULES.items()}
    return build(BREAST_FEATURES, rules, {"name": "risk", "labels": ["low", "high"]}, policy, default="low",
                 id="low-high")


def low_high_y():
    return breast_data()["diagnosis"].map({"benign": "low", "malignant": "high"})


@pytest.mark.parametrize("policy", ["first match", "weighted vote"])
def test_classes_are_sorted_and_probabilities_follow_them(data, policy):
    X, _ = data
    y = low_high_y()
    predictor = RulePredictor(low_high_ruleset(policy)).fit(X, y)
    assert predictor.classes_.tolist() == ["high", "low"]
    # The same rules over [benign, malignant] (already sorted) are the reference: P(high) is P(malignant).
    reference = RulePredictor(breast_ruleset(policy)).fit(X, data[1]).predict_proba(X)
    proba = predictor.predict_proba(X)
    np.testing.assert_allclose(proba, reference[:, ::-1])
    np.testing.assert_array_equal(predictor.predict(X), np.where(RulePredictor(breast_ruleset(policy)).fit(X)
                                                                 .predict(X) == "malignant", "high", "low"))
    # argmax over classes_ is predict wherever a rule decided (the only undecided default here is "low")
    decided = breast_ruleset(policy).decide(X).notna().to_numpy() & (proba.max(axis=1) > 0.5)
    np.testing.assert_array_equal(predictor.classes_[proba.argmax(axis=1)][decided], predictor.predict(X)[decided])
    assert predictor.predict_row(X.iloc[0].to_dict()) == predictor.predict(X.iloc[:1])[0]


def test_scorers_read_the_right_probability_column():
    from sklearn.metrics import log_loss, roc_auc_score

    frame = breast_data()
    X, y = frame.drop(columns="diagnosis"), low_high_y()
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    auc = cross_val_score(RulePredictor(low_high_ruleset()), X, y, cv=folds, scoring="roc_auc")
    loss = cross_val_score(RulePredictor(low_high_ruleset()), X, y, cv=folds, scoring="neg_log_loss")
    # By hand, with sklearn.metrics on the right column: P(high) is the reference rules' P(malignant), and
    # "high" is the positive class (the last of the sorted labels, as the roc_auc scorer takes it).
    p_high = RulePredictor(breast_ruleset()).fit(X).predict_proba(X)[:, 1]
    expected_auc, expected_loss = [], []
    for _, test in folds.split(X, y):
        expected_auc.append(roc_auc_score(y.iloc[test] == "low", 1 - p_high[test]))
        expected_loss.append(-log_loss(y.iloc[test], np.column_stack([p_high[test], 1 - p_high[test]]),
                                       labels=["high", "low"]))
    np.testing.assert_allclose(auc, expected_auc)
    np.testing.assert_allclose(loss, expected_loss)
    assert auc.mean() > 0.8 and loss.mean() > -0.5  # the rules rank well: before the fix, 1 - AUC and a worse loss


def test_integer_labels_listed_out_of_order_are_sorted(data):
    X, _ = data
    rules = {k: v.replace('"malignant"', '"0"').replace('"benign"', '"1"') for k, v in BREAST_RULES.items()}
    ruleset = build(BREAST_FEATURES, rules, {"name": "diagnosis", "labels": [1, 0]}, default="1")
    y = (breast_data()["diagnosis"] == "benign").astype(int).to_numpy()
    predictor = RulePredictor(ruleset).fit(X, y)
    assert predictor.classes_.tolist() == [0, 1]
    reference = RulePredictor(breast_ruleset()).fit(X).predict_proba(X)  # [benign, malignant]
    np.testing.assert_allclose(predictor.predict_proba(X), reference[:, ::-1])
    assert predictor.score(X, y) == pytest.approx(RulePredictor(breast_ruleset()).fit(X).score(X, data[1]))


def proba_frame():
    """Hand-made cases: each fires a known set of rules."""
    return pd.DataFrame({
        "worst radius":         [20.0, 12.0, 20.0, 15.0, 15.0],
        "worst concave points": [0.20, 0.05, 0.05, 0.12, 0.05],
        "worst texture":        [30.0, 20.0, 20.0, 20.0, 30.0],
        "worst area":           [900., 400., 900., 700., 700.],
        "mean concavity":       [0.10, 0.01, 0.01, 0.01, 0.10],
        "mean texture":         [20.0, 20.0, 20.0, 20.0, 20.0],
        "mean area":            [800., 400., 800., 600., 600.],
    })
    # row 0: many-concave-points, large-nuclei, rough-and-concave, large-mass; row 1: small-and-smooth;
    # row 2: large-nuclei, large-mass; row 3: nothing; row 4: rough-and-concave


def test_predict_proba_first_match_is_the_deciding_rules_confidence():
    predictor = RulePredictor(breast_ruleset()).fit(proba_frame())
    np.testing.assert_allclose(predictor.predict_proba(proba_frame()),
                               [[0.1, 0.9], [0.9, 0.1], [0.15, 0.85], [0.5, 0.5], [0.3, 0.7]])
    assert predictor.predict(proba_frame()).tolist() == ["malignant", "benign", "malignant", "benign", "malignant"]
    np.testing.assert_allclose(predictor.predict_log_proba(proba_frame()),
                               np.log(predictor.predict_proba(proba_frame())))


def test_predict_proba_weighted_vote_is_the_normalised_votes():
    frame = proba_frame()
    frame.loc[1, "mean concavity"], frame.loc[1, "worst texture"] = 0.10, 30.0  # small-and-smooth + rough-and-concave
    predictor = RulePredictor(breast_ruleset("weighted vote")).fit(frame)
    np.testing.assert_allclose(predictor.predict_proba(frame),
                               [[0, 1], [0.9 / 1.6, 0.7 / 1.6], [0, 1], [0.5, 0.5], [0, 1]])
    assert predictor.predict(frame).tolist() == ["malignant", "benign", "malignant", "benign", "malignant"]


def test_explain_matches_decide_row(data):
    X, y = data
    ruleset = breast_ruleset("weighted vote")
    predictor = RulePredictor(ruleset).fit(X, y)
    sample = X.iloc[::7]
    explanations = predictor.explain(sample)
    assert len(explanations) == len(sample)
    for explanation, row in zip(explanations, sample.to_dict("records")):
        decision = ruleset.decide_row(row)
        assert explanation.label == decision.label
        assert [r.id for r in explanation.fired] == list(decision.fired)
        assert explanation.deciding == decision.deciding
        assert explanation.scores == decision.scores
        assert explanation.reason == decision.reason


def test_explain_names_each_fired_rule_with_its_text_and_version():
    predictor = RulePredictor(breast_ruleset()).fit(proba_frame())
    first = predictor.explain(proba_frame())[0].to_dict()
    assert first["label"] == "malignant" and first["deciding"] == ["many-concave-points"]
    assert first["reason"].startswith("'many-concave-points' is the first rule by priority that fired")
    fired = {r["id"]: r for r in first["fired"]}
    assert set(fired) == {"many-concave-points", "large-nuclei", "rough-and-concave", "large-mass"}
    assert fired["many-concave-points"] == {
        "id": "many-concave-points", "name": "Many concave points", "version": "0" * 40, "label": "malignant",
        "confidence": 0.9, "text": 'rule "Many concave points"\npriority 3\nwhen worst concave points is above '
                                   '0.16\nthen diagnosis is "malignant" with confidence 0.9'}
    assert fired["large-mass"]["label"] is None
