-- One row per raw shop row (orders, order lines, products) that could not be used, with the reason.
{{ select_quarantined_rows('base_shop__orders', 'shop.orders', ['order_id_raw', 'updated_at_raw']) }}

union all

{{ select_quarantined_rows('base_shop__order_lines', 'shop.order_lines', ['order_line_id_raw']) }}

union all

{{ select_quarantined_rows('base_shop__products', 'shop.products', ['product_id_raw', 'updated_at_raw']) }}
