"""From rows that happened to rows that land: late arrival, malformed values, redelivery.

* late arrival (``late_rate``): a row that happened on day d lands on d+1..d+3; CRM
  change records therefore also land out of order;
* redelivery (``duplicate_rate``): an exact copy of a row lands again in the same or one
  of the next three partitions;
* malformed values (``malformed_rate``): unparseable timestamps, empty primary ids,
  non-numeric amounts, negative quantities, unknown event types.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import pick
from .config import DUPLICATE_MAX_DELAY_DAYS, LATE_MAX_DAYS, SPILL_DAYS, Config
from .sources import crm, email, privacy, shop, web
from .sources.rows import Rows
from .world import World

BAD_TIMESTAMPS = ("not-a-timestamp", "2026-13-45", "2026-02-30T25:61:00Z", "yesterday",
                  "0000-00-00 00:00:00")
BAD_AMOUNTS = ("12,3O", "N/A", "1.2.3", "$", "twelve")
BAD_QUANTITIES = ("-1", "-2", "-5")
# Per table: (column, replacement values) a malformed row draws one of. Campaigns,
# erasure requests and manual suppressions are typed in by people at the source and
# arrive well-formed.
MALFORMATIONS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "crm/contacts": (
        ("updated_at", BAD_TIMESTAMPS),
        ("contact_id", ("",)),
        ("birth_date", ("1985-02-30", "31.12.1990", "unknown")),
    ),
    "crm/consent_events": (
        ("occurred_at", BAD_TIMESTAMPS),
        ("consent_event_id", ("",)),
        ("consent_status", ("maybe", "GRANTED?")),
    ),
    "web/events": (
        ("occurred_at", BAD_TIMESTAMPS),
        ("event_id", ("",)),
        ("event_type", ("pageview??", "PAGE VIEW", "clik", "unknown_event")),
    ),
    "shop/orders": (
        ("order_total", BAD_AMOUNTS),
        ("ordered_at", BAD_TIMESTAMPS),
        ("order_id", ("",)),
    ),
    "shop/order_lines": (
        ("quantity", BAD_QUANTITIES),
        ("unit_price", BAD_AMOUNTS),
        ("order_line_id", ("",)),
    ),
    "shop/products": (("list_price", BAD_AMOUNTS),),
    "email/events": (
        ("occurred_at", BAD_TIMESTAMPS),
        ("email_event_id", ("",)),
        ("event_type", ("opened??", "OPEN!", "delivred")),
    ),
}
# Catalogue snapshots and campaign definitions never arrive late.
ON_TIME_TABLES = {"shop/products", "email/campaigns"}


def malform(table: pa.Table, key: str, rng: np.random.Generator, rate: float) -> pa.Table:
    """Give a ``rate`` share of rows one typical upstream defect (see MALFORMATIONS)."""
    kinds = MALFORMATIONS.get(key, ())
    n = table.num_rows
    hit = rng.random(n) < rate
    kind = rng.integers(0, max(len(kinds), 1), n)
    for j, (column, values) in enumerate(kinds):
        mask = hit & (kind == j)
        if not mask.any():
            continue
        bad = pick(values, rng.integers(0, len(values), int(mask.sum())))
        col = table.column(column).combine_chunks()
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pc.replace_with_mask(col, pa.array(mask), bad))
    return table


def land(w: World, day: int, key: str, rows: Rows, cfg: Config,
         parent_lag: np.ndarray | None) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Decide each row's landing day, then corrupt and redeliver a share of rows.

    Returns the table, each row's landing day and each original row's lateness.
    """
    rng = w.rng(day, key + "/landing")
    n = rows.table.num_rows
    occurred_day = w.day_of(rows.occurred_ts)
    late = (rng.random(n) < cfg.late_rate) & (key not in ON_TIME_TABLES)
    lag = np.where(late, rng.integers(1, LATE_MAX_DAYS + 1, n), 0)
    lag = np.where(occurred_day < day, 0, lag)  # history imported on the first date
    if parent_lag is not None:
        lag = parent_lag[rows.parent]
    landing = np.maximum(occurred_day, day) + lag
    table = malform(rows.table, key, rng, cfg.malformed_rate)
    redelivered = np.flatnonzero(rng.random(n) < cfg.duplicate_rate)
    delay = rng.choice(DUPLICATE_MAX_DELAY_DAYS + 1, redelivered.size, p=[0.4, 0.3, 0.2, 0.1])
    if redelivered.size:
        table = pa.concat_tables([table, table.take(pa.array(redelivered))])
        landing = np.concatenate([landing, landing[redelivered] + delay])
    assert landing.size == 0 or landing.max() - day <= SPILL_DAYS, key
    return table, landing, lag


def simulate_day(w: World, day: int, cfg: Config) -> dict[str, tuple[pa.Table, np.ndarray]]:
    """All rows produced by one simulated day, keyed by table, with their landing days."""
    orders = shop.orders_day(w, day)
    produced = {
        "shop/products": shop.products_day(w, day),
        "email/campaigns": email.campaigns_day(w, day),
        "crm/contacts": crm.contacts_day(w, day),
        "crm/consent_events": crm.consent_day(w, day),
        "shop/orders": orders.orders,
        "shop/order_lines": orders.lines,
        "web/events": web.web_day(w, day, orders),
        "email/events": email.email_day(w, day, orders),
        "privacy/erasure_requests": privacy.erasure_day(w, day),
        "privacy/manual_suppressions": privacy.manual_suppressions_day(w, day),
    }
    out, lags = {}, {}
    for key, rows in produced.items():
        parent_lag = lags["shop/orders"] if key == "shop/order_lines" else None
        table, landing, lags[key] = land(w, day, key, rows, cfg, parent_lag)
        out[key] = (table, landing)
    return out
