{#-
    One row per customer with at least one event a behavioural segment condition reads, as
    of as_of: one column per measure the active segments' conditions compile to
    (macros/segments/segment_conditions.sql), named cv_<segment hash>_<n>. Counts, first
    and last dates, 0/1 verdicts of date windows, and per_key verdicts.

    Cost follows the conditions, not the segments: each event family is read in ONE
    aggregation per customer shared by every segment, from the earliest day any of its
    conditions looks at, and a family no condition names is not read at all. Each per_key
    condition adds one aggregation per customer and key over its own events. Events are
    read from the identifier-grain daily aggregates and mapped to today's customers here,
    so an identity merge moves a person's events without recomputing any aggregate.
    Only events at or before as_of count: a window ends on as_of, so it expires as days
    pass even when no new event arrives.

    The customers are computed in var('segment_condition_value_buckets') hash buckets of
    customer_id, one statement each (see hash_bucketed_build): a customer's events all
    fall in its bucket, so each bucket's rows are complete, and memory follows a bucket.
-#}
{{
    config(
        post_hook=["{{ insert_remaining_hash_buckets(hash_bucket_count(var('segment_condition_value_buckets'))) }}"],
    )
}}
{%- set customer_buckets = hash_bucket_count(var('segment_condition_value_buckets')) | int %}
{%- do validate_segment_registry() %}
{%- set plan = segment_condition_plan() %}
{%- set families_used = [] %}
{%- for family_name, family in plan.families.items() %}
    {%- set keyed_uses = [] %}
    {%- for block in plan.keyed if family_name in block.families %}
        {%- do keyed_uses.append(block.name) %}
    {%- endfor %}
    {%- if family.measures or keyed_uses %}
        {%- do families_used.append(family_name) %}
    {%- endif %}
{%- endfor %}
-- depends_on: {{ ref('int_web_events_daily') }}
-- depends_on: {{ ref('int_email_events_daily') }}
-- depends_on: {{ ref('int_orders_enriched') }}
-- depends_on: {{ ref('stg_shop__order_lines') }}
-- depends_on: {{ ref('stg_shop__products') }}
-- depends_on: {{ ref('stg_email__campaigns') }}
-- depends_on: {{ ref('int_identifiers_resolved_to_customers') }}

with

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

{% if 'web' in families_used or 'order' in families_used %}
    -- each product's category from its latest catalogue version at as_of (one row per product)
    product_versions as (
        select
            product_id,
            category,
            row_number() over (partition by product_id order by updated_at desc) as version_rank
        from {{ ref('stg_shop__products') }}
        where updated_at < {{ as_of_cutoff() }}
    ),

    product_categories as (
        select
            product_id,
            category
        from product_versions
        where version_rank = 1
    ),
{% endif %}

{% if 'web' in families_used %}
    -- web events of every browser and shop account, on their customer: the account's when
    -- the event carried one, else the browser's (as sessions are attributed)
    web_events as (
        select
            coalesce(by_account.customer_id, by_browser.customer_id) as customer_id,
            web_days.activity_date,
            web_days.event_type as event_name,
            web_days.product_id,
            products.category as product_category,
            web_days.utm_source,
            web_days.utm_medium,
            web_days.utm_campaign,
            web_days.device_type,
            web_days.event_count,
            cast(null as {{ dbt.type_string() }}) as order_id,
            web_days.last_occurred_at
        from {{ ref('int_web_events_daily') }} as web_days
        left join int_identifiers_resolved_to_customers as by_account
            on by_account.identifier_type = 'shop_customer_id'
                and web_days.user_id = by_account.identifier_value
        left join int_identifiers_resolved_to_customers as by_browser
            on by_browser.identifier_type = 'anonymous_id'
                and web_days.anonymous_id = by_browser.identifier_value
        left join product_categories as products
            on web_days.product_id = products.product_id
        where web_days.activity_date <= {{ as_of_date() }}
            {{ segment_condition_pass_filter(plan, 'web', 'web_days.event_type', 'web_days.activity_date') }}
            {%- if customer_buckets > 1 %}
            and {{ first_hash_bucket_only('coalesce(by_account.customer_id, by_browser.customer_id)', customer_buckets) }}
            {%- endif %}
    ),
{% endif %}

{% if 'order' in families_used %}
    order_products as (
        select distinct
            order_id,
            product_id
        from {{ ref('stg_shop__order_lines') }}
    ),

    -- counted orders, one row per order and product it holds (an order without lines once)
    order_events as (
        select
            orders.customer_id,
            orders.ordered_date as activity_date,
            'order' as event_name,
            order_products.product_id,
            products.category as product_category,
            orders.order_total_usd as order_value_usd,
            orders.currency_code,
            orders.is_guest_checkout,
            cast(1 as {{ dbt.type_bigint() }}) as event_count,
            orders.order_id,
            orders.ordered_at as last_occurred_at
        from {{ ref('int_orders_enriched') }} as orders
        left join order_products
            on orders.order_id = order_products.order_id
        left join product_categories as products
            on order_products.product_id = products.product_id
        where orders.is_counted_order
            and orders.customer_id is not null
            and orders.ordered_date <= {{ as_of_date() }}
            {{ segment_condition_pass_filter(plan, 'order', "'order'", 'orders.ordered_date') }}
            {%- if customer_buckets > 1 %}
            and {{ first_hash_bucket_only('orders.customer_id', customer_buckets) }}
            {%- endif %}
    ),
{% endif %}

{% if 'email' in families_used %}
    {%- set email_event_name = dbt.concat(["'email_'", 'email_days.event_type']) %}
    -- email events of every address, on the address's customer; campaign attributes from
    -- the campaign definitions (a campaign without one counts as marketing)
    email_events as (
        select
            by_address.customer_id,
            email_days.activity_date,
            {{ email_event_name }} as event_name,
            email_days.campaign_id,
            campaigns.campaign_type,
            coalesce(campaigns.is_marketing, true) as is_marketing,
            email_days.bounce_type,
            email_days.event_count,
            cast(null as {{ dbt.type_string() }}) as order_id,
            email_days.last_occurred_at
        from {{ ref('int_email_events_daily') }} as email_days
        inner join int_identifiers_resolved_to_customers as by_address
            on by_address.identifier_type = 'email'
                and email_days.email = by_address.identifier_value
        left join {{ ref('stg_email__campaigns') }} as campaigns
            on email_days.campaign_id = campaigns.campaign_id
        where email_days.activity_date <= {{ as_of_date() }}
            {{ segment_condition_pass_filter(plan, 'email', email_event_name, 'email_days.activity_date') }}
            {%- if customer_buckets > 1 %}
            and {{ first_hash_bucket_only('by_address.customer_id', customer_buckets) }}
            {%- endif %}
    ),
{% endif %}

{% for family_name in families_used if plan.families[family_name].measures %}
    {{ family_name }}_pass as (
        select
            customer_id,
            {%- for column, aggregate in plan.families[family_name].measures %}
            {{ aggregate }} as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ family_name }}_events
        where customer_id is not null
        group by customer_id
    ),
{% endfor %}

{% for block in plan.keyed %}
    {{ block.name }}_rows as (
        {%- for family_name in block.families %}
        {%- set block_events = [] %}
        {%- for event in block.events if plan.event_family[event] == family_name %}
            {%- do block_events.append(segment_sql_string(event)) %}
        {%- endfor %}
        select
            customer_id,
            {{ block.key }} as key_value,
            activity_date,
            event_name,
            event_count,
            order_id,
            last_occurred_at
            {%- for property in block.properties %},
            {{ segment_condition_property_or_null(plan, family_name, property) }} as {{ property }}
            {%- endfor %}
        from {{ family_name }}_events
        where customer_id is not null
            and {{ block.key }} is not null
            and event_name in ({{ block_events | join(', ') }})
        {%- if not loop.last %}

        union all
        {%- endif %}
        {%- endfor %}
    ),

    {{ block.name }}_keys as (
        select
            customer_id,
            key_value,
            {%- for column, aggregate in block.measures %}
            {{ aggregate }} as {{ column }},
            {%- endfor %}
            {{ block.candidate if block.candidate else 'max(last_occurred_at)' }} as candidate_last_at
        from {{ block.name }}_rows
        group by
            customer_id,
            key_value
    ),

    {{ block.name }}_candidates as (
        select
            customer_id,
            case when {{ block.verdict }} then 1 else 0 end as holds,
            row_number() over (
                partition by customer_id
                order by candidate_last_at desc, key_value desc
            ) as key_rank
        from {{ block.name }}_keys
        where candidate_last_at is not null
    ),

    {{ block.name }}_pass as (
        select
            customer_id,
            {%- if block.require == 'every' and block['keys'] %}
            case
                when count(*) = {{ block['keys']['last'] | int }} and min(holds) = 1 then 1 else 0
            end as {{ block.name }}
            {%- elif block.require == 'every' %}
            min(holds) as {{ block.name }}
            {%- else %}
            max(holds) as {{ block.name }}
            {%- endif %}
        from {{ block.name }}_candidates
        {%- if block['keys'] %}
        where key_rank <= {{ block['keys']['last'] | int }}
        {%- endif %}
        group by customer_id
    ),
{% endfor %}

{%- set passes = [] %}
{%- for family_name in families_used if plan.families[family_name].measures %}
    {%- do passes.append((family_name ~ '_pass', plan.families[family_name].measures | map(attribute=0) | list)) %}
{%- endfor %}
{%- for block in plan.keyed %}
    {%- do passes.append((block.name ~ '_pass', [block.name])) %}
{%- endfor %}

customers_with_values as (
    {%- for pass_name, columns in passes %}
    select customer_id from {{ pass_name }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as customer_id
    where 1 = 0
    {%- endfor %}
),

final as (
    select
        customers_with_values.customer_id,
        {%- for pass_name, columns in passes %}
        {%- for column in columns %}
        {{ pass_name }}.{{ column }},
        {%- endfor %}
        {%- endfor %}
        {{ as_of_date() }} as as_of_date
    from customers_with_values
    {%- for pass_name, columns in passes %}
    left join {{ pass_name }}
        on customers_with_values.customer_id = {{ pass_name }}.customer_id
    {%- endfor %}
)

select * from final
