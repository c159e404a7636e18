"""Read out an experiment from a CSV of units (one row per unit) and print it as JSON.

For data from elsewhere: the same statistics as marts.fct_experiment_readouts
(scripts/experiment_stats.py), every treatment arm compared with the control.

    python scripts/experiment_readout.py --csv FILE --arm-column COL --control LABEL \
        [--unit-column COL] [--binary COL[,COL...]] [--numeric COL[,COL...]] \
        [--covariate COL] [--weights ARM=W,...]

Binary columns hold 0/1 (rates, Pearson chi-squared); numeric columns hold numbers (means,
Welch's t-test). --covariate adds a CUPED-adjusted estimate to every comparison.
--weights are the configured arm weights for the sample-ratio-mismatch check (equal weights
when omitted). At least one metric column is required. Bad input (missing file or column,
unknown control label, a non-numeric or empty value, a duplicated unit id, ...) exits 2
with one line on stderr; a valid readout exits 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import experiment_stats as st


class ReadoutError(Exception):
    """Bad input: the message is the one line printed."""


@dataclass(frozen=True)
class Arguments:
    csv_path: Path
    arm_column: str
    control: str
    unit_column: str | None
    binary: tuple[str, ...]
    numeric: tuple[str, ...]
    covariate: str | None
    weights: dict[str, float] | None


def _column_list(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(name.strip() for name in text.split(",") if name.strip())


def parse_weights(text: str | None) -> dict[str, float] | None:
    """'A=50,B=50' -> {'A': 50.0, 'B': 50.0}; arm labels may contain spaces."""
    if text is None:
        return None
    weights: dict[str, float] = {}
    for part in text.split(","):
        label, separator, value = part.rpartition("=")
        label = label.strip()
        if not separator or not label:
            raise ReadoutError(f"--weights: {part.strip()!r} is not ARM=WEIGHT")
        try:
            weight = float(value)
        except ValueError:
            raise ReadoutError(f"--weights: weight {value.strip()!r} of arm {label!r} is not a number") from None
        if not weight > 0 or not math.isfinite(weight):
            raise ReadoutError(f"--weights: weight of arm {label!r} must be a positive number")
        if label in weights:
            raise ReadoutError(f"--weights: arm {label!r} given twice")
        weights[label] = weight
    return weights


def parse_arguments(argv: list[str] | None) -> Arguments:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True, type=Path, help="CSV file, one row per unit, with a header")
    parser.add_argument("--arm-column", required=True, help="column holding the arm label")
    parser.add_argument("--control", required=True, help="arm label of the control")
    parser.add_argument("--unit-column", help="unit id column; duplicates are an error")
    parser.add_argument("--binary", help="comma-separated 0/1 metric columns")
    parser.add_argument("--numeric", help="comma-separated numeric metric columns")
    parser.add_argument("--covariate", help="pre-period covariate column for CUPED")
    parser.add_argument("--weights", help="configured arm weights, ARM=W,... (default equal)")
    namespace = parser.parse_args(argv)
    binary, numeric = _column_list(namespace.binary), _column_list(namespace.numeric)
    if not binary and not numeric:
        raise ReadoutError("name at least one metric column with --binary or --numeric")
    repeated = sorted({name for name in binary + numeric if (binary + numeric).count(name) > 1})
    if repeated:
        raise ReadoutError(f"metric column {repeated[0]!r} is named more than once")
    return Arguments(
        csv_path=namespace.csv, arm_column=namespace.arm_column, control=namespace.control,
        unit_column=namespace.unit_column, binary=binary, numeric=numeric,
        covariate=namespace.covariate, weights=parse_weights(namespace.weights),
    )


def _number(text: str, column: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ReadoutError(f"{column!r} on line {line}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ReadoutError(f"{column!r} on line {line}: {text!r} is not a finite number")
    return value


def read_units(arguments: Arguments) -> dict[str, dict[str, list[float]]]:
    """Per arm, per column (metrics and covariate): the values of its units in file order."""
    columns = arguments.binary + arguments.numeric + ((arguments.covariate,) if arguments.covariate else ())
    try:
        handle = arguments.csv_path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ReadoutError(f"cannot read {arguments.csv_path}: {error.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        needed = [arguments.arm_column] + ([arguments.unit_column] if arguments.unit_column else []) + list(columns)
        missing = [name for name in needed if name not in header]
        if missing:
            raise ReadoutError(f"column {missing[0]!r} is not in {arguments.csv_path} (columns: {', '.join(header)})")
        units: dict[str, dict[str, list[float]]] = {}
        seen_units: dict[str, int] = {}
        try:
            for row in reader:
                line = reader.line_num
                if arguments.unit_column:
                    unit = (row[arguments.unit_column] or "").strip()
                    if unit in seen_units:
                        raise ReadoutError(
                            f"unit {unit!r} of {arguments.unit_column!r} appears on lines {seen_units[unit]} and {line}")
                    seen_units[unit] = line
                arm = (row[arguments.arm_column] or "").strip()
                if not arm:
                    raise ReadoutError(f"{arguments.arm_column!r} on line {line} is empty")
                values = units.setdefault(arm, {column: [] for column in columns})
                for column in columns:
                    value = _number((row[column] or "").strip(), column, line)
                    if column in arguments.binary and value not in (0.0, 1.0):
                        raise ReadoutError(f"{column!r} on line {line}: {row[column]!r} is not 0 or 1")
                    values[column].append(value)
        except csv.Error as error:
            raise ReadoutError(f"{arguments.csv_path} line {reader.line_num}: {error}") from None
        except UnicodeDecodeError:
            raise ReadoutError(f"{arguments.csv_path} is not UTF-8 text") from None
    if arguments.control not in units:
        raise ReadoutError(f"control {arguments.control!r} is not an arm of {arguments.arm_column!r} "
                           f"(arms: {', '.join(sorted(units)) or 'none, the file has no rows'})")
    if len(units) < 2:
        raise ReadoutError(f"{arguments.arm_column!r} holds only the control arm: nothing to compare")
    for arm, values in units.items():
        if len(values[columns[0]]) < 2:
            raise ReadoutError(f"arm {arm!r} has fewer than 2 units")
    return units


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _interval(interval: st.Interval) -> dict[str, float | None]:
    return {"estimate": _finite(interval.estimate), "lower": _finite(interval.lower), "upper": _finite(interval.upper)}


def build_readout(arguments: Arguments, units: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """The readout as a JSON-ready dict."""
    arms = sorted(units)
    treatments = [arm for arm in arms if arm != arguments.control]
    counts = {arm: len(next(iter(units[arm].values()))) for arm in arms}
    weights = arguments.weights or {arm: 1.0 for arm in arms}
    if set(weights) != set(arms):
        raise ReadoutError(f"--weights names arms {', '.join(sorted(weights))} but the data has {', '.join(arms)}")
    srm = st.sample_ratio_mismatch(counts, weights)
    metrics = []
    for metric_type, columns in (("binary", arguments.binary), ("numeric", arguments.numeric)):
        for column in columns:
            moments = {
                arm: st.ArmMoments.from_values(units[arm][column], units[arm][arguments.covariate]
                                               if arguments.covariate else None)
                for arm in arms
            }
            theta = st.cuped_theta(moments.values()) if arguments.covariate else None
            overall_mean_x = st.pool(moments.values()).mean_x
            comparisons = []
            for treatment in treatments:
                comparison = st.compare_arms(moments[arguments.control], moments[treatment], metric_type)
                entry: dict[str, Any] = {
                    "treatment": treatment,
                    "absolute_lift": _interval(comparison.absolute_lift),
                    "relative_lift": _interval(comparison.relative_lift),
                    "relative_lift_method": "delta",
                    "test": comparison.test.test,
                    "statistic": _finite(comparison.test.statistic),
                    "degrees_of_freedom": _finite(comparison.test.degrees_of_freedom),
                    "p_value": _finite(comparison.test.p_value),
                }
                if arguments.covariate:
                    cuped = st.cuped_difference(moments[arguments.control], moments[treatment], theta, overall_mean_x)
                    entry["cuped"] = {
                        "covariate": arguments.covariate, "theta": _finite(cuped.theta),
                        "control_mean": _finite(cuped.control_mean), "treatment_mean": _finite(cuped.treatment_mean),
                        "absolute_lift": _interval(cuped.absolute_lift), "test": cuped.test.test,
                        "p_value": _finite(cuped.test.p_value),
                    }
                comparisons.append(entry)
            value_name = "rate" if metric_type == "binary" else "mean"
            metrics.append({
                "metric": column, "type": metric_type,
                "arms": [{"arm": arm, "n": moments[arm].n, value_name: _finite(moments[arm].mean)} for arm in arms],
                "comparisons": comparisons,
            })
    return {
        "csv": str(arguments.csv_path), "arm_column": arguments.arm_column, "control": arguments.control,
        "confidence": st.CONFIDENCE, "units": sum(counts.values()),
        "sample_ratio_mismatch": {
            "observed": srm.observed, "weights": weights, "expected": srm.expected,
            "statistic": _finite(srm.statistic), "p_value": _finite(srm.p_value),
            "alpha": st.SRM_ALPHA, "is_mismatch": srm.is_mismatch,
        },
        "metrics": metrics,
    }


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = parse_arguments(argv)
        readout = build_readout(arguments, read_units(arguments))
    except (ReadoutError, ValueError) as error:
        print(f"experiment_readout: {error}", file=sys.stderr)
        return 2
    try:
        json.dump(readout, sys.stdout, indent=2)
        print()
    except BrokenPipeError:  # the reader (e.g. `head`) stopped early
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
