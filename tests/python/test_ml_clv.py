"""Tests of scripts/ml_clv.py against the published CDNOW reference fits.

Data: the 2,357-customer CDNOW calibration summary (tests/python/fixtures/cdnow, from the
`lifetimes` wheel, MIT; see its README). Published figures:
- BG/NBD, Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing
  Science 24(2): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, log-likelihood -9582.4;
  the customer with x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39
  weeks (section 4).
- Gamma-Gamma, Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value", on the 946
  customers with a repeat purchase: p = 6.25, q = 3.74, gamma = 15.44.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import ml_clv  # noqa: E402

CDNOW = PROJECT_DIR / "tests" / "python" / "fixtures" / "cdnow" / "cdnow_customers_summary_with_transactions.csv"


@pytest.fixture(scope="module")
def cdnow():
    with CDNOW.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = {name: np.array([float(row[name]) for row in rows]) for name in ("x", "t_x", "T", "zbar")}
    assert len(rows) == 2357
    return columns


@pytest.fixture(scope="module")
def bg_nbd(cdnow):
    return ml_clv.fit_bg_nbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


def test_bg_nbd_matches_the_published_cdnow_fit(bg_nbd):
    assert bg_nbd.r == pytest.approx(0.243, abs=0.001)
    assert bg_nbd.alpha == pytest.approx(4.414, abs=0.005)
    assert bg_nbd.a == pytest.approx(0.793, abs=0.002)
    assert bg_nbd.b == pytest.approx(2.426, abs=0.005)
    assert bg_nbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_bg_nbd_conditional_expectation_matches_the_published_example(bg_nbd):
    expected = ml_clv.expected_purchases(bg_nbd, 39, [2], [30.43], [38.86])
    assert expected[0] == pytest.approx(1.226, abs=0.001)


def test_probability_alive_is_one_without_repeat_purchases_and_falls_with_silence(bg_nbd):
    alive = ml_clv.probability_alive(bg_nbd, [0, 2, 2], [0, 38.0, 5.0], [38.86, 38.86, 38.86])
    assert alive[0] == 1.0
    assert 1.0 > alive[1] > alive[2] > 0.0


def test_gamma_gamma_matches_the_published_cdnow_fit(cdnow):
    fitted = ml_clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert fitted.p == pytest.approx(6.25, abs=0.01)
    assert fitted.q == pytest.approx(3.74, abs=0.01)
    assert fitted.gamma == pytest.approx(15.44, abs=0.02)
    # the population mean for a customer without repeat purchases, p * gamma / (q - 1)
    no_repeat = ml_clv.expected_average_value(fitted, [0], [0])[0]
    assert no_repeat == pytest.approx(fitted.p * fitted.gamma / (fitted.q - 1))
    # a repeat customer's expectation shrinks their own mean toward the population's
    own_mean = 100.0
    shrunk = ml_clv.expected_average_value(fitted, [3], [own_mean])[0]
    assert no_repeat < shrunk < own_mean
