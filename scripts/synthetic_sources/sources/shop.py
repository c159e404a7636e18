"""Shop: orders (change records), order lines and the product catalogue.

orders       a 'placed' record, later 'shipped', 'delivered', 'cancelled' or 'refunded'
             records; timestamps ISO-8601 'Z'. Totals are the sum of the lines'
             quantity * unit_price; guest checkouts carry an email and no account id.
order_lines  land with their order's 'placed' record.
products     the whole catalogue on the first date, price changes later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..columns import concat, iso_text, money_text, num_text, pick, sql_timestamp_text, where_text, zero_pad
from ..config import DAY, STATUS_MAX_DELAY_DAYS
from ..draws import BUSINESS_HOUR_WEIGHTS, WEB_HOUR_WEIGHTS, hour_seconds
from ..geography import CURRENCIES, FX_FROM_USD
from ..identities import EMAIL_MESS, messy_emails
from ..seasonality import demand
from ..world import World
from .rows import Rows, make_table

ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled", "refunded")
PLACED, SHIPPED, DELIVERED, CANCELLED, REFUNDED = range(5)


@dataclass
class DayOrders:
    """A day's shop rows plus, per order, what the web and email simulations need."""

    orders: Rows
    lines: Rows
    person: np.ndarray  # per order
    ordered_ts: np.ndarray
    guest: np.ndarray
    first_product: np.ndarray  # what the checkout session put into the cart


def orders_day(w: World, day: int) -> DayOrders:
    """Orders placed on a day, their lines and their later status changes."""
    rng = w.rng(day, "shop/orders")
    n = int(w.n_by_day[day])
    date = w.date(day)
    # First purchases happen at a predetermined instant; repeat buyers order at a rate.
    first = np.flatnonzero((w.first_purchase_day[:n] == day) & (w.erasure_day[:n] > day))
    repeat_ok = ((w.first_purchase_day[:n] < day) & (w.erasure_day[:n] > day)
                 & (w.lapse_day[:n] > day))
    counts = rng.poisson(np.where(repeat_ok, w.order_rate[:n] * demand(date), 0.0))
    repeat = np.repeat(np.arange(n), counts)
    person = np.concatenate([first, repeat])
    ordered_ts = np.concatenate([w.first_purchase_ts[first],
                                 w.day_epoch(day) + hour_seconds(rng, repeat.size, WEB_HOUR_WEIGHTS)])
    order = np.argsort(ordered_ts, kind="stable")
    person, ordered_ts = person[order], ordered_ts[order]
    m = person.size
    order_id = concat(f"ORD-{date:%Y%m%d}-", zero_pad(np.arange(1, m + 1), 6))

    # Lines: basket size and product choice grow with the person's spend level.
    spend = w.spend[person]
    n_lines = np.minimum(rng.poisson(0.5 * spend) + 1, 12)
    line_order = np.repeat(np.arange(m), n_lines)
    line_no = np.arange(line_order.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    premium = rng.random(line_order.size) < np.clip((spend[line_order] - 1.0) / 2.0, 0.05, 0.9)
    product = np.where(premium,
                       rng.choice(w.n_products, line_order.size, p=w.popularity_premium),
                       rng.choice(w.n_products, line_order.size, p=w.popularity))
    quantity = 1 + rng.poisson(np.where(spend[line_order] > 2, 0.6, 0.2))
    currency = w.currency[person]
    discount = np.where(rng.random(m) < 0.12, 0.85, 1.0)
    unit_cents = np.round(w.price_cents(product, day) * FX_FROM_USD[currency[line_order]]
                          * discount[line_order]).astype(np.int64)
    total_cents = np.bincount(line_order, weights=quantity * unit_cents, minlength=m).astype(np.int64)

    guest = ~w.has_shop[person] | w.guest_preference[person] | (rng.random(m) < 0.03)
    email = messy_emails(rng, w.email.take(pa.array(person)), EMAIL_MESS["shop"])

    # Later status changes: cancelled, or (shipped ->) delivered (-> refunded).
    outcome = rng.random(m)
    cancelled = outcome < 0.06
    refunded = (outcome >= 0.06) & (outcome < 0.10)
    delivered = (outcome >= 0.06) & (outcome < 0.72)
    shipped = (delivered & (rng.random(m) < 0.5)) | ((outcome >= 0.72) & (rng.random(m) < 0.3))
    ship_ts = ordered_ts + rng.integers(DAY // 2, 2 * DAY, m)
    deliver_ts = ship_ts + rng.integers(DAY, 6 * DAY, m)
    status_rows = [
        (np.arange(m), PLACED, ordered_ts),
        (np.flatnonzero(cancelled), CANCELLED, (ordered_ts + rng.integers(600, DAY, m))),
        (np.flatnonzero(shipped), SHIPPED, ship_ts),
        (np.flatnonzero(delivered), DELIVERED, deliver_ts),
        (np.flatnonzero(refunded), REFUNDED,
         np.minimum(deliver_ts + rng.integers(DAY, 22 * DAY, m), ordered_ts + STATUS_MAX_DELAY_DAYS * DAY)),
    ]
    row_order = np.concatenate([r[0] for r in status_rows])
    row_status = np.concatenate([np.full(r[0].size, r[1]) for r in status_rows])
    row_ts = np.concatenate([r[2] if r[1] == PLACED else r[2][r[0]] for r in status_rows])
    take = pa.array(row_order)
    total_text = money_text(total_cents)
    orders = make_table("shop/orders", {
        "order_id": order_id.take(take),
        "shop_customer_id": where_text(~guest[row_order], w.shop_customer_id.take(pa.array(person[row_order]))),
        "email": email.take(take),
        "order_status": pick(ORDER_STATUSES, row_status),
        "currency": pick(CURRENCIES, currency[row_order]),
        "order_total": total_text.take(take),
        "ordered_at": iso_text(ordered_ts[row_order], "Z"),
        "updated_at": iso_text(row_ts, "Z"),
    })
    lines = make_table("shop/order_lines", {
        "order_line_id": concat(order_id.take(pa.array(line_order)), "-", num_text(line_no + 1)),
        "order_id": order_id.take(pa.array(line_order)),
        "product_id": w.product_id.take(pa.array(product)),
        "quantity": num_text(quantity),
        "unit_price": money_text(unit_cents),
    })
    first_line = np.cumsum(n_lines) - n_lines
    return DayOrders(
        orders=Rows(orders, row_ts),
        lines=Rows(lines, ordered_ts[line_order], parent=line_order),  # placed rows come first
        person=person, ordered_ts=ordered_ts, guest=guest,
        first_product=product[first_line])


def products_day(w: World, day: int) -> Rows:
    """The whole catalogue on the first date; products whose price changed afterwards."""
    rng = w.rng(day, "shop/products")
    if day == 0:
        product = np.arange(w.n_products)
        ts = w.start_epoch - rng.integers(DAY, 90 * DAY, product.size)
    else:
        product = np.flatnonzero((day + w.price_phase) % w.price_period == 0)
        ts = w.day_epoch(day) + hour_seconds(rng, product.size, BUSINESS_HOUR_WEIGHTS)
    table = make_table("shop/products", {
        "product_id": w.product_id.take(pa.array(product)),
        "product_name": w.product_name.take(pa.array(product)),
        "category": w.product_category.take(pa.array(product)),
        "list_price": money_text(w.price_cents(product, day)),
        "currency": pick(("USD",), np.zeros(product.size, np.int64)),
        "updated_at": sql_timestamp_text(ts),
    })
    return Rows(table, np.maximum(ts, w.start_epoch))
