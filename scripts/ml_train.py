"""Train, evaluate, promote and score the machine-learned customer models (`make train`).

Reads the point-in-time tables dbt builds (intermediate.int_ml_training_examples, and
intermediate.int_ml_customer_features at the scoring cutoff) from the
warehouse and writes its results to the warehouse's `ml` schema, where dbt reads them as
sources (docs/models.md):
- ml.model_registry: one row per trained model version (churn, purchase_propensity, clv)
  with cutoffs, features, metrics, the promotion decision and trained_at;
- ml.model_calibration: one row per classifier version per score decile;
- ml.customer_scores: one row per customer per classifier target per scoring cutoff, from
  the promoted version, with band and the three features contributing most;
- ml.customer_lifetime_value: one row per ordering customer per scoring cutoff (BG/NBD +
  Gamma-Gamma, scripts/ml_clv.py).
Fitted classifiers are kept as joblib files beside the warehouse (--model-dir), so a later
retrain compares itself with the promoted model on its own evaluation cutoff.

    python scripts/ml_train.py --database data/warehouse.duckdb
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import duckdb
import joblib
import numpy as np
import pandas as pd
import scipy
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ml_clv  # noqa: E402
import ml_metrics  # noqa: E402

FEATURES = [
    "tenure_days", "days_since_last_order", "days_since_first_order", "first_to_last_order_days",
    "mean_days_between_orders", "orders_count", "order_days_count", "orders_last_30_days",
    "orders_last_90_days", "revenue_usd", "average_order_value_usd", "sessions_last_30_days",
    "page_views_last_30_days", "cart_adds_last_30_days", "days_since_last_visit",
    "emails_sent_last_90_days", "emails_opened_last_90_days", "emails_clicked_last_90_days",
    "days_since_last_email_open",
]
# target -> (label column, rows it is defined for, recency baseline score)
TARGETS = {
    "churn": ("is_churned", lambda frame: frame["has_ordered"],
              lambda frame: frame["days_since_last_order"].astype(float)),
    "purchase_propensity": ("will_purchase", lambda frame: pd.Series(True, index=frame.index),
                            lambda frame: -frame["days_since_last_order"].astype(float)),
}
HYPERPARAMETERS = {"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15,
                   "min_samples_leaf": 40, "l2_regularization": 1.0, "early_stopping": False,
                   "random_state": 0}
CLV_HORIZON_DAYS = 90
TOP_FEATURES = 3

DDL = {
    "model_registry": """
        model_version varchar primary key, target varchar, algorithm varchar, library_version varchar,
        training_cutoffs varchar, evaluation_cutoff date, scoring_cutoff date, features varchar,
        hyperparameters varchar, parameters varchar, training_rows bigint, evaluation_rows bigint,
        evaluation_positive_rate double, roc_auc double, pr_auc double, brier_score double,
        log_likelihood double, baseline_roc_auc double, previous_model_version varchar,
        previous_roc_auc double, is_promoted boolean, promotion_reason varchar, trained_at timestamp""",
    "model_calibration": """
        model_version varchar, decile integer, customers bigint, mean_score double, observed_rate double""",
    "customer_scores": """
        customer_id varchar, target varchar, cutoff_date date, model_version varchar, score double,
        score_band varchar, top_feature_1 varchar, top_contribution_1 double, top_feature_2 varchar,
        top_contribution_2 double, top_feature_3 varchar, top_contribution_3 double, scored_at timestamp""",
    "customer_lifetime_value": """
        customer_id varchar, cutoff_date date, model_version varchar, repeat_purchases integer,
        first_to_last_order_days integer, days_since_first_order integer, average_order_value_usd double,
        probability_alive double, expected_purchases_90_days double,
        expected_average_order_value_usd double, expected_value_90_days_usd double, scored_at timestamp""",
}


def ensure_tables(connection) -> None:
    connection.execute("create schema if not exists ml")
    for table, columns in DDL.items():
        connection.execute(f"create table if not exists ml.{table} ({columns})")


def read_inputs(connection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The labelled examples and the customers at the scoring cutoff, only the columns the
    models use: at 1,000,000 customers the examples hold several cutoffs of them."""
    keys = ["customer_id", "cutoff_date", "cutoff_role", "has_ordered"]
    columns = ", ".join(keys + FEATURES)
    examples = connection.execute(
        f"select {columns}, will_purchase, is_churned from intermediate.int_ml_training_examples").df()
    scoring = connection.execute(
        f"select {columns} from intermediate.int_ml_customer_features where cutoff_role = 'scoring'").df()
    return examples, scoring


def day_text(value) -> str:
    return pd.Timestamp(value).date().isoformat()


def matrix(frame: pd.DataFrame, features: list[str] = FEATURES) -> np.ndarray:
    """The feature matrix in the order a model was trained on (a kept model may predate a
    change of FEATURES: it is scored on its own list)."""
    return frame[features].astype("float32").to_numpy()


def fit_classifier(frame: pd.DataFrame, label: str) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(**HYPERPARAMETERS)
    model.fit(matrix(frame), frame[label].astype(int).to_numpy())
    return model


def top_contributions(model, features: np.ndarray, reference: np.ndarray, names: list[str] = FEATURES,
                      top: int = TOP_FEATURES):
    """Per customer, the features whose replacement by the reference value (the training
    median) moves the score most: contribution = score - score with that feature replaced.
    One extra prediction per feature; returns (names, contributions), each n x top."""
    base = model.predict_proba(features)[:, 1]
    contributions = np.empty((len(features), len(names)))
    for column in range(len(names)):
        replaced = features.copy()
        replaced[:, column] = reference[column]
        contributions[:, column] = base - model.predict_proba(replaced)[:, 1]
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :top]
    return np.asarray(names, dtype=object)[order], np.take_along_axis(contributions, order, axis=1)


def previous_promoted(connection, target: str):
    row = connection.execute("""
        select model_version, roc_auc from ml.model_registry
        where target = ? and is_promoted order by trained_at desc limit 1
    """, [target]).fetchone()
    return row


def train_target(connection, target, examples, scoring, model_dir: Path, trained_at, version_suffix):
    label, applies, baseline = TARGETS[target]
    examples = examples[applies(examples)].dropna(subset=[label])
    training = examples[examples["cutoff_role"] == "training"]
    evaluation = examples[examples["cutoff_role"] == "evaluation"]
    if training[label].nunique() < 2 or evaluation.empty:
        print(f"{target}: not enough labelled rows to train ({len(training)} training, {len(evaluation)} evaluation)")
        return None
    model = fit_classifier(training, label)
    evaluation_labels = evaluation[label].astype(int).to_numpy()
    evaluation_scores = model.predict_proba(matrix(evaluation))[:, 1]
    result = ml_metrics.evaluate(evaluation_labels, evaluation_scores)
    baseline_result = ml_metrics.evaluate(evaluation_labels, baseline(evaluation), probabilities=False)

    previous = previous_promoted(connection, target)
    previous_version, previous_auc = (previous if previous else (None, None))
    if previous_version and (model_dir / f"{previous_version}.joblib").exists():
        # the promoted model, re-scored on this evaluation cutoff, not its own
        previous_artefact = joblib.load(model_dir / f"{previous_version}.joblib")
        if set(previous_artefact["features"]) <= set(evaluation.columns):
            previous_scores = previous_artefact["model"].predict_proba(
                matrix(evaluation, previous_artefact["features"]))[:, 1]
            previous_auc = ml_metrics.evaluate(evaluation_labels, previous_scores).roc_auc
    promoted, reason = ml_metrics.should_promote(result.roc_auc, baseline_result.roc_auc, previous_auc)

    version = f"{target}_{version_suffix}"
    reference = np.median(matrix(training), axis=0)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump({"model": model, "features": FEATURES, "reference": reference}, model_dir / f"{version}.joblib")
    if promoted:
        connection.execute("update ml.model_registry set is_promoted = false where target = ?", [target])
    connection.execute("insert into ml.model_registry by name select * from (select ?::varchar as model_version, "
                       "?::varchar as target, ?::varchar as algorithm, ?::varchar as library_version, "
                       "?::varchar as training_cutoffs, ?::date as evaluation_cutoff, ?::date as scoring_cutoff, "
                       "?::varchar as features, ?::varchar as hyperparameters, ?::bigint as training_rows, "
                       "?::bigint as evaluation_rows, ?::double as evaluation_positive_rate, ?::double as roc_auc, "
                       "?::double as pr_auc, ?::double as brier_score, ?::double as baseline_roc_auc, "
                       "?::varchar as previous_model_version, ?::double as previous_roc_auc, "
                       "?::boolean as is_promoted, ?::varchar as promotion_reason, ?::timestamp as trained_at)", [
        version, target, "HistGradientBoostingClassifier", f"scikit-learn {sklearn.__version__}",
        json.dumps(sorted(day_text(cutoff) for cutoff in training["cutoff_date"].unique())),
        day_text(evaluation["cutoff_date"].iloc[0]), day_text(scoring["cutoff_date"].iloc[0]) if len(scoring) else None,
        json.dumps(FEATURES), json.dumps(HYPERPARAMETERS), len(training), result.rows, result.positive_rate,
        result.roc_auc, result.pr_auc, result.brier_score, baseline_result.roc_auc, previous_version,
        previous_auc, promoted, reason, trained_at])
    calibration = ml_metrics.calibration_table(evaluation_labels, evaluation_scores)
    calibration.insert(0, "model_version", version)
    connection.register("calibration_frame", calibration)
    connection.execute("insert into ml.model_calibration by name select * from calibration_frame")
    connection.unregister("calibration_frame")
    print(f"{target}: {version} ROC AUC {result.roc_auc:.4f} (baseline {baseline_result.roc_auc:.4f}), "
          f"PR AUC {result.pr_auc:.4f}, Brier {result.brier_score:.4f}; "
          f"{'promoted' if promoted else 'not promoted'}: {reason}")
    return version if promoted else previous_version


def score_target(connection, target, version, scoring, model_dir: Path, scored_at) -> int:
    """Scores the customers the target is defined for (churn: those who have ordered)."""
    scoring = scoring[TARGETS[target][1](scoring)]
    artefact_path = model_dir / f"{version}.joblib"
    if scoring.empty or not artefact_path.exists():
        print(f"{target}: no scores ({'no customers at the scoring cutoff' if scoring.empty else f'{artefact_path} missing'})")
        return 0
    artefact = joblib.load(artefact_path)
    missing = sorted(set(artefact["features"]) - set(scoring.columns))
    if missing:
        print(f"{target}: no scores: the promoted {version} reads features no longer built: {', '.join(missing)}")
        return 0
    features = matrix(scoring, artefact["features"])
    scores = artefact["model"].predict_proba(features)[:, 1]
    names, contributions = top_contributions(artefact["model"], features, artefact["reference"],
                                             artefact["features"])
    frame = pd.DataFrame({"customer_id": scoring["customer_id"].to_numpy(), "target": target,
                          "cutoff_date": scoring["cutoff_date"].to_numpy(), "model_version": version,
                          "score": scores, "score_band": ml_metrics.score_bands(target, scores)})
    for rank in range(TOP_FEATURES):
        frame[f"top_feature_{rank + 1}"] = names[:, rank]
        frame[f"top_contribution_{rank + 1}"] = contributions[:, rank]
    frame["scored_at"] = scored_at
    cutoff = day_text(scoring["cutoff_date"].iloc[0])
    connection.execute("delete from ml.customer_scores where target = ? and cutoff_date = ?", [target, cutoff])
    connection.register("scores_frame", frame)
    connection.execute("insert into ml.customer_scores by name select * from scores_frame")
    connection.unregister("scores_frame")
    return len(frame)


def fit_lifetime_value(connection, scoring, trained_at, version_suffix) -> int:
    ordered = scoring[scoring["has_ordered"]]
    if len(ordered) < 10:
        print(f"clv: {len(ordered)} ordering customers, too few to fit")
        return 0
    repeat = ordered["order_days_count"].to_numpy(dtype=float) - 1
    recency = ordered["first_to_last_order_days"].to_numpy(dtype=float)
    age = ordered["days_since_first_order"].to_numpy(dtype=float)
    spend = ordered["average_order_value_usd"].to_numpy(dtype=float)
    purchases = ml_clv.fit_bg_nbd(repeat, recency, age)
    spend_model = ml_clv.fit_gamma_gamma(repeat, spend)
    version = f"clv_{version_suffix}"
    expected_purchases = ml_clv.expected_purchases(purchases, CLV_HORIZON_DAYS, repeat, recency, age)
    expected_value = ml_clv.expected_average_value(spend_model, repeat, spend)
    frame = pd.DataFrame({
        "customer_id": ordered["customer_id"].to_numpy(), "cutoff_date": ordered["cutoff_date"].to_numpy(),
        "model_version": version, "repeat_purchases": repeat.astype(int),
        "first_to_last_order_days": recency.astype(int), "days_since_first_order": age.astype(int),
        "average_order_value_usd": spend,
        "probability_alive": ml_clv.probability_alive(purchases, repeat, recency, age),
        "expected_purchases_90_days": expected_purchases,
        "expected_average_order_value_usd": expected_value,
        "expected_value_90_days_usd": expected_purchases * expected_value, "scored_at": trained_at})
    cutoff = day_text(ordered["cutoff_date"].iloc[0])
    parameters = {"bg_nbd": {"r": purchases.r, "alpha": purchases.alpha, "a": purchases.a, "b": purchases.b,
                             "log_likelihood": purchases.log_likelihood},
                  "gamma_gamma": {"p": spend_model.p, "q": spend_model.q, "gamma": spend_model.gamma,
                                  "log_likelihood": spend_model.log_likelihood},
                  "time_unit": "day", "horizon_days": CLV_HORIZON_DAYS}
    connection.execute("update ml.model_registry set is_promoted = false where target = 'clv'")
    connection.execute("insert into ml.model_registry by name select * from (select ?::varchar as model_version, "
                       "'clv' as target, 'BG/NBD + Gamma-Gamma (maximum likelihood, scipy)' as algorithm, "
                       "?::varchar as library_version, ?::date as scoring_cutoff, ?::varchar as features, "
                       "?::varchar as parameters, ?::bigint as training_rows, ?::double as log_likelihood, "
                       "true as is_promoted, 'fitted at the scoring cutoff; no holdout evaluation yet' as promotion_reason, "
                       "?::timestamp as trained_at)", [
        version, f"scipy {scipy.__version__}", cutoff,
        json.dumps(["order_days_count", "first_to_last_order_days", "days_since_first_order", "average_order_value_usd"]),
        json.dumps(parameters), len(ordered), purchases.log_likelihood, trained_at])
    connection.execute("delete from ml.customer_lifetime_value where cutoff_date = ?", [cutoff])
    connection.register("clv_frame", frame)
    connection.execute("insert into ml.customer_lifetime_value by name select * from clv_frame")
    connection.unregister("clv_frame")
    print(f"clv: {version} r={purchases.r:.3f} alpha={purchases.alpha:.2f} a={purchases.a:.3f} b={purchases.b:.3f}; "
          f"p={spend_model.p:.2f} q={spend_model.q:.2f} gamma={spend_model.gamma:.2f}; {len(frame)} customers")
    return len(frame)


def run(database: Path, model_dir: Path, trained_at: dt.datetime | None = None) -> dict:
    trained_at = trained_at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    version_suffix = trained_at.strftime("%Y%m%dT%H%M%S")
    summary = {}
    with duckdb.connect(str(database)) as connection:
        ensure_tables(connection)
        examples, scoring = read_inputs(connection)
        for target in TARGETS:
            version = train_target(connection, target, examples, scoring, model_dir, trained_at, version_suffix)
            summary[target] = score_target(connection, target, version, scoring, model_dir, trained_at) if version else 0
        summary["clv"] = fit_lifetime_value(connection, scoring, trained_at, version_suffix)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path,
                        default=Path(os.environ.get("SEGMENTS_DUCKDB_PATH", "data/warehouse.duckdb")))
    parser.add_argument("--model-dir", type=Path, help="where fitted models are kept (default: ml_models beside the database)")
    parser.add_argument("--threads", type=int, help="OpenMP threads for gradient boosting (default: all cores); "
                        "1 avoids threads waiting on each other when other work holds the cores")
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads):
        run(args.database, args.model_dir or args.database.parent / "ml_models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
