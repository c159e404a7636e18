"""The simulated world: an online shop's people and products over a run of days.

A ``World`` is everything static about the simulation, drawn once from (seed,
customers, start date): the people who exist at the start and everyone who signs up
until the last simulated day (``people.py``), how each system identifies them
(``identities.py``) and the products (``catalogue.py``). The sources turn it into one
day of rows at a time.
"""

from __future__ import annotations

import numpy as np

from .catalogue import Catalogue
from .clock import Clock
from .config import Config
from .identities import Identities
from .people import People


class World(Clock, People, Identities, Catalogue):
    """People and products; everything static about the simulated world."""

    def __init__(self, cfg: Config, last_day: int):
        super().__init__(cfg.seed, cfg.start_date)
        self.n_base = cfg.customers
        self.last_day = last_day
        self._build_people()
        self._build_people_text()
        self._build_catalogue()

    # --- state of a person on a day -------------------------------------------------
    def email_audience(self, n: int, ts: int, day: int) -> np.ndarray:
        """Mask over people [0, n) with email consent at ``ts`` (and no global unsubscribe)."""
        return ((self.consent_grant_ts[:n, 0] <= ts) & (self.consent_revoke_ts[:n, 0] > ts)
                & (self.global_unsubscribe_ts[:n] > ts) & (self.erasure_day[:n] > day))
