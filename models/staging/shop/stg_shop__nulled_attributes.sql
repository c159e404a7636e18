-- One row per staged shop row per optional attribute that staging nulled as implausible,
-- with the landed value and the reason.
{{ select_nulled_attributes('base_shop__orders', 'shop.orders', ['order_id', 'updated_at'], ['email']) }}
