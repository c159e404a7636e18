"""End-to-end test of scripts/ml_train.py on a small planted warehouse: the intermediate
tables dbt would build are written here by hand, with labels that follow the features, and
the script trains, evaluates, promotes (or not), scores and fits lifetime value."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import ml_train  # noqa: E402

CUTOFFS = [("2026-02-01", "training"), ("2026-02-15", "training"), ("2026-03-01", "evaluation"),
           ("2026-06-01", "scoring")]
CUSTOMERS = 400


@pytest.fixture(autouse=True)
def one_thread():
    """Gradient boosting on a few hundred rows: OpenMP threads only add waiting (and
    much of it when another process holds the cores)."""
    with threadpool_limits(limits=1):
        yield


def planted_features(cutoff_index: int, rng) -> pd.DataFrame:
    has_ordered = rng.random(CUSTOMERS) < 0.6
    order_days = np.where(has_ordered, rng.integers(1, 8, CUSTOMERS), 0)
    first_order_age = np.where(has_ordered, rng.integers(60, 400, CUSTOMERS), 9999)
    last_order_age = np.where(has_ordered, (first_order_age * rng.random(CUSTOMERS)).astype(int), 9999)
    last_order_age = np.where(order_days == 1, first_order_age, last_order_age)
    frame = pd.DataFrame({
        "customer_id": [f"cus_{number:04d}" for number in range(CUSTOMERS)],
        "cutoff_date": pd.Timestamp(CUTOFFS[cutoff_index][0]).date(),
        "cutoff_role": CUTOFFS[cutoff_index][1],
        "has_ordered": has_ordered,
        "tenure_days": np.maximum(first_order_age, 0) % 9999 + 30,
        "days_since_last_order": last_order_age,
        "days_since_first_order": first_order_age,
        "first_to_last_order_days": np.where(has_ordered, first_order_age - last_order_age, 0),
        "orders_count": order_days,
        "order_days_count": order_days,
        "sessions_last_30_days": rng.poisson(2, CUSTOMERS),
        "emails_opened_last_90_days": rng.poisson(1, CUSTOMERS),
    })
    frame["mean_days_between_orders"] = np.where(
        order_days > 1, frame["first_to_last_order_days"] / np.maximum(order_days - 1, 1), 0.0)
    frame["orders_last_30_days"] = ((last_order_age < 30) & has_ordered).astype(int)
    frame["orders_last_90_days"] = ((last_order_age < 90) & has_ordered).astype(int)
    frame["average_order_value_usd"] = np.where(has_ordered, rng.gamma(4, 15, CUSTOMERS).round(2), 0.0)
    frame["revenue_usd"] = (frame["average_order_value_usd"] * order_days).round(2)
    for column in ml_train.FEATURES:
        if column not in frame:
            frame[column] = 0
    return frame


@pytest.fixture()
def warehouse(tmp_path):
    rng = np.random.default_rng(11)
    database = tmp_path / "warehouse.duckdb"
    features = pd.concat([planted_features(index, rng) for index in range(len(CUTOFFS))], ignore_index=True)
    recent = features["days_since_last_order"] < 60
    active = features["sessions_last_30_days"] >= 3
    features_with_labels = features.assign(
        will_purchase=(recent | active) & (rng.random(len(features)) < 0.8),
        is_churned=np.where(features["has_ordered"], ~recent & ~active & (rng.random(len(features)) < 0.85), None),
    )
    examples = features_with_labels[features_with_labels["cutoff_role"] != "scoring"]
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema intermediate")
        for name, frame in {"int_ml_customer_features": features, "int_ml_training_examples": examples}.items():
            connection.register("frame", frame)
            connection.execute(f"create table intermediate.{name} as select * from frame")
            connection.unregister("frame")
    return database


def registry(database):
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute("select * from ml.model_registry order by trained_at, target").df()


def test_training_registers_promotes_and_scores(warehouse, tmp_path):
    summary = ml_train.run(warehouse, tmp_path / "models", trained_at=dt.datetime(2026, 6, 1, 3, 0))
    rows = registry(warehouse)
    assert sorted(rows["target"]) == ["churn", "clv", "purchase_propensity"]
    classifiers = rows[rows["target"] != "clv"].set_index("target")
    assert classifiers["is_promoted"].all()
    assert (classifiers["roc_auc"] > classifiers["baseline_roc_auc"]).all()
    assert (classifiers["roc_auc"] > 0.7).all()
    assert json.loads(classifiers.loc["churn", "training_cutoffs"]) == ["2026-02-01", "2026-02-15"]
    assert str(classifiers.loc["churn", "evaluation_cutoff"])[:10] == "2026-03-01"
    assert json.loads(classifiers.loc["churn", "features"]) == ml_train.FEATURES

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        scores = connection.execute("select * from ml.customer_scores").df()
        deciles = connection.execute("select model_version, count(*) as n from ml.model_calibration group by 1").df()
        clv = connection.execute("select * from ml.customer_lifetime_value").df()
    ordered = (ml_train.read_inputs(duckdb.connect(str(warehouse), read_only=True))[1]["has_ordered"]).sum()
    assert summary == {"churn": ordered, "purchase_propensity": CUSTOMERS, "clv": ordered}
    assert set(scores["score_band"]) <= {"low", "medium", "high"}
    assert scores["score"].between(0, 1).all()
    assert set(scores["top_feature_1"]) <= set(ml_train.FEATURES)
    assert (scores["top_contribution_1"].abs() >= scores["top_contribution_2"].abs()).all()
    assert deciles["n"].tolist() == [10, 10]
    assert clv["probability_alive"].between(0, 1).all()
    assert (clv["expected_purchases_90_days"] >= 0).all()
    assert (clv.loc[clv["repeat_purchases"] == 0, "probability_alive"] == 1).all()


def test_a_weaker_retrain_is_not_promoted_and_scores_stay_with_the_promoted_model(warehouse, tmp_path, monkeypatch):
    models = tmp_path / "models"
    ml_train.run(warehouse, models, trained_at=dt.datetime(2026, 6, 1, 3, 0))
    monkeypatch.setitem(ml_train.HYPERPARAMETERS, "max_iter", 1)
    monkeypatch.setitem(ml_train.HYPERPARAMETERS, "max_leaf_nodes", 2)
    ml_train.run(warehouse, models, trained_at=dt.datetime(2026, 6, 8, 3, 0))
    rows = registry(warehouse)
    second = rows[(rows["trained_at"] == pd.Timestamp("2026-06-08 03:00")) & (rows["target"] != "clv")]
    assert not second["is_promoted"].any()
    assert (second["previous_model_version"].str.endswith("20260601T030000")).all()
    promoted = rows[rows["is_promoted"]]
    assert sorted(promoted["model_version"]) == [
        "churn_20260601T030000", "clv_20260608T030000", "purchase_propensity_20260601T030000"]
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        versions = connection.execute("select distinct model_version from ml.customer_scores order by 1").fetchall()
    assert versions == [("churn_20260601T030000",), ("purchase_propensity_20260601T030000",)]


def test_top_contributions_name_the_feature_the_score_depends_on():
    """A model that reads only days_since_last_order: replacing any other feature by its
    median changes nothing, so that feature is first with the whole difference."""
    rng = np.random.default_rng(3)
    features = rng.integers(0, 100, size=(300, len(ml_train.FEATURES))).astype("float32")
    recency = ml_train.FEATURES.index("days_since_last_order")
    labels = (features[:, recency] > 50).astype(int)
    model = ml_train.HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(features, labels)
    reference = np.median(features, axis=0)
    names, contributions = ml_train.top_contributions(model, features, reference)
    changed = model.predict_proba(features)[:, 1] != model.predict_proba(
        np.where(np.arange(len(ml_train.FEATURES)) == recency, reference, features))[:, 1]
    assert (names[changed, 0] == "days_since_last_order").all()
    assert np.allclose(contributions[:, 1:], 0)
