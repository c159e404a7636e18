"""Customer lifetime value: BG/NBD (Fader, Hardie & Lee 2005) for the number of future
purchases and P(alive), Gamma-Gamma (Fader & Hardie 2013) for the value per purchase,
fitted by maximum likelihood with scipy.

Inputs per customer follow the papers: x = repeat purchases (purchase days after the
first), t_x = time from the first to the last purchase, T = time from the first purchase
to the cutoff, m_x = mean value of the purchases (time in any unit, used consistently).
The checks against the published CDNOW fit are in tests/python/test_ml_clv.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass(frozen=True)
class BgNbdParameters:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGammaParameters:
    p: float
    q: float
    gamma: float
    log_likelihood: float


def _as_arrays(*columns):
    return [np.asarray(column, dtype="float64") for column in columns]


def bg_nbd_log_likelihood(params, x, t_x, big_t) -> np.ndarray:
    """Per-customer log-likelihood of (x, t_x, T) under BG/NBD (FHL 2005, equation 6)."""
    r, alpha, a, b = params
    x, t_x, big_t = _as_arrays(x, t_x, big_t)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    alive_term = (special.betaln(a, b + x) - special.betaln(a, b)
                  - (r + x) * np.log(alpha + big_t))
    has_repeat = x > 0
    dropout_term = np.where(
        has_repeat,
        special.betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - special.betaln(a, b)
        - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return common + np.logaddexp(alive_term, dropout_term)


def fit_bg_nbd(x, t_x, big_t, initial=(1.0, 1.0, 1.0, 1.0)) -> BgNbdParameters:
    x, t_x, big_t = _as_arrays(x, t_x, big_t)
    scale = max(float(np.mean(big_t)), 1e-9)

    def negative(log_params):
        return -np.sum(bg_nbd_log_likelihood(np.exp(log_params), x, t_x / scale, big_t / scale))

    result = optimize.minimize(negative, np.log(initial), method="Nelder-Mead",
                               options={"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-8})
    result = optimize.minimize(negative, result.x, method="L-BFGS-B")
    r, alpha, a, b = np.exp(result.x)
    # Time was scaled for the optimiser: alpha is in time units, the likelihood gains
    # r * log(scale) per customer back.
    alpha *= scale
    log_likelihood = float(np.sum(bg_nbd_log_likelihood((r, alpha, a, b), x, t_x, big_t)))
    return BgNbdParameters(float(r), float(alpha), float(a), float(b), log_likelihood)


def _dropout_odds(params: BgNbdParameters, x, t_x, big_t):
    """a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) for x > 0, else 0."""
    log_odds = (np.log(params.a) - np.log(np.maximum(params.b + x - 1, 1e-12))
                + (params.r + x) * (np.log(params.alpha + big_t) - np.log(params.alpha + t_x)))
    return np.where(x > 0, np.exp(np.minimum(log_odds, 700.0)), 0.0)


def probability_alive(params: BgNbdParameters, x, t_x, big_t) -> np.ndarray:
    x, t_x, big_t = _as_arrays(x, t_x, big_t)
    return 1.0 / (1.0 + _dropout_odds(params, x, t_x, big_t))


def expected_purchases(params: BgNbdParameters, horizon, x, t_x, big_t) -> np.ndarray:
    """Expected purchases in (T, T + horizon] given the history (FHL 2005, equation 10)."""
    x, t_x, big_t = _as_arrays(x, t_x, big_t)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hypergeometric = special.hyp2f1(r + x, b + x, a + b + x - 1, horizon / (alpha + big_t + horizon))
    numerator = ((a + b + x - 1) / (a - 1)) * (
        1 - ((alpha + big_t) / (alpha + big_t + horizon)) ** (r + x) * hypergeometric)
    return numerator / (1.0 + _dropout_odds(params, x, t_x, big_t))


def gamma_gamma_log_likelihood(params, x, m_x) -> np.ndarray:
    """Per-customer log-likelihood of the mean value m_x of x purchases (x > 0)."""
    p, q, gamma = params
    x, m_x = _as_arrays(x, m_x)
    return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
            + q * np.log(gamma) + (p * x - 1) * np.log(m_x) + p * x * np.log(x)
            - (p * x + q) * np.log(gamma + m_x * x))


def fit_gamma_gamma(x, m_x, initial=(1.0, 1.0, 1.0)) -> GammaGammaParameters:
    """Fit on customers with x > 0 and m_x > 0 (the others carry no spend information)."""
    x, m_x = _as_arrays(x, m_x)
    keep = (x > 0) & (m_x > 0)
    x, m_x = x[keep], m_x[keep]
    scale = max(float(np.mean(m_x)), 1e-9)

    def negative(log_params):
        return -np.sum(gamma_gamma_log_likelihood(np.exp(log_params), x, m_x / scale))

    result = optimize.minimize(negative, np.log(initial), method="Nelder-Mead",
                               options={"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-8})
    result = optimize.minimize(negative, result.x, method="L-BFGS-B")
    p, q, gamma = np.exp(result.x)
    gamma *= scale
    log_likelihood = float(np.sum(gamma_gamma_log_likelihood((p, q, gamma), x, m_x)))
    return GammaGammaParameters(float(p), float(q), float(gamma), log_likelihood)


def expected_average_value(params: GammaGammaParameters, x, m_x) -> np.ndarray:
    """E[M | x, m_x] = (gamma + m_x x) p / (p x + q - 1); the population mean
    p gamma / (q - 1) for customers without a repeat purchase."""
    x, m_x = _as_arrays(x, m_x)
    p, q, gamma = params.p, params.q, params.gamma
    conditional = (gamma + m_x * x) * p / (p * x + q - 1)
    return np.where(x > 0, conditional, p * gamma / (q - 1))
