-- Bare-DuckDB baseline of the segment pipeline, read by scripts/benchmark.py.
--
-- One script on one DuckDB connection computes, from the raw.* tables, what the dbt
-- project computes for segment membership: typing and quarantine rules, first-delivery
-- de-duplication, identity stitching, sessions, the customer features the segment rules
-- read, and rule evaluation with priorities, consent and the default segment. It is
-- written for DuckDB alone (macros, QUALIFY, recursive CTE) and keeps the project's
-- semantics, so its memberships must equal marts.fct_segment_memberships.
--
-- scripts/benchmark.py fills in these placeholders (each written as its name in double braces below):
--   <as_of>, <as_of_cutoff>   the as_of day and midnight after it (YYYY-MM-DD)
--   <business_started_on>, <session_inactivity_seconds>,
--   <max_links>, <max_shop_accounts_per_device>   project vars (dbt_project.yml)
--   <currency_rates_csv>        seeds/currency_rates.csv
--   <quantity_min> .. <list_price_max>  plausibility bounds of order lines and products
--   <behaviour_event_names>     the event names active segments' conditions read
--   <segment_member_inserts>    one `insert` of the members of each active segment (its rule
--                                  and conditions, its ancestors' rules and conditions, the
--                                  completeness guard and consent; conditions compiled by
--                                  scripts/benchmark_conditions.py), in member_of order,
--   <default_segment_key>, <default_segment_priority>
--                                  generated from the segment registry
--                                  (models/marts/segments/_segment_registry.yml)
-- Results land in the `baseline` schema: customer_features, behaviour_events (what the
-- conditions read), segment_members (before the default), segment_memberships,
-- customer_primary_segments.
-- A `-- stage: <name>` line opens each part that corresponds to a stage of the dbt project
-- (scripts/benchmark.py STAGES); the benchmark times each part and reports it beside the
-- dbt build's nodes of the same stage.

-- stage: staging
create schema if not exists baseline;

-- A timestamp with a UTC offset outside -12:00..+14:00 is unusable, as in staging.
create or replace temp macro parse_ts(value) as
    case
        when not regexp_matches(
            trim(value),
            '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*'
            || '(\+(1[5-9]|[2-9]\d)(:?\d{2})?|\+14:?(0[1-9]|[1-9]\d)|-(1[3-9]|[2-9]\d)(:?\d{2})?|-12:?(0[1-9]|[1-9]\d)|[+-]\d{2}:?[6-9]\d)'
        )
            then cast(timezone('UTC', try_cast(trim(value) as timestamp with time zone)) as timestamp)
    end;
create or replace temp macro clean(value) as nullif(trim(value), '');
create or replace temp macro norm_email(value) as nullif(lower(trim(value)), '');
create or replace temp macro bad_ts(parsed, loaded_at) as
    parsed is null
    or parsed < cast('{{business_started_on}}' as timestamp)
    or parsed > loaded_at + interval {{clock_skew_allowance_minutes}} minute;
create or replace temp macro bad_email(value) as
    clean(value) is not null
    and not regexp_full_match(norm_email(value), '[^@\s]+@[^@\s]+\.[^@\s]+');
-- An optional attribute that is implausible is nulled and the record kept, as in staging.
create or replace temp macro email_or_null(value) as
    case when not bad_email(value) then norm_email(value) end;

-- staging: usable rows only, first delivery of each natural key by load order -----------

-- The two event tables are too large to rank every row: the first delivery is ranked only
-- among the rows of keys that occur more than once, as the dbt base models do.
create or replace temp table web_events_usable as
select
    event_id, anonymous_id, user_id, event_type, occurred_at,
    product_id, utm_source, utm_medium, utm_campaign, device_type,
    _loaded_at, _source_file, _file_row_number
from (
    select
        clean(event_id) as event_id,
        clean(anonymous_id) as anonymous_id,
        clean(user_id) as user_id,
        lower(trim(event_type)) as event_type,
        clean(product_id) as product_id,
        lower(clean(utm_source)) as utm_source,
        lower(clean(utm_medium)) as utm_medium,
        lower(clean(utm_campaign)) as utm_campaign,
        lower(clean(device_type)) as device_type,
        parse_ts(occurred_at) as occurred_at,
        event_type as event_type_raw,
        _loaded_at, _source_file, _file_row_number
    from raw.web_events
)
where not coalesce(
    event_id is null
    or (anonymous_id is null and user_id is null)
    or lower(trim(event_type_raw)) not in ('page_view', 'product_view', 'add_to_cart', 'checkout_start', 'login', 'search')
    or bad_ts(occurred_at, _loaded_at),
    false);

create or replace table baseline.web_events as
with later_deliveries as (
    select _source_file, _file_row_number
    from web_events_usable
    where event_id in (select event_id from web_events_usable group by event_id having count(*) > 1)
    qualify row_number() over (partition by event_id order by _loaded_at, _source_file, _file_row_number) > 1
)
select
    event_id, anonymous_id, user_id, event_type, occurred_at,
    product_id, utm_source, utm_medium, utm_campaign, device_type
from web_events_usable
anti join later_deliveries using (_source_file, _file_row_number);

drop table web_events_usable;

create or replace table baseline.orders as
select
    order_id, shop_customer_id, email, ordered_at, updated_at, _loaded_at,
    currency_code,
    shop_customer_id is null as is_guest_checkout,
    order_status in ('cancelled', 'refunded') as is_cancelled_or_refunded,
    cast(order_total * usd_per_unit as decimal(18, 2)) as order_total_usd
from (
    select
        clean(orders.order_id) as order_id,
        clean(orders.shop_customer_id) as shop_customer_id,
        email_or_null(orders.email) as email,
        lower(trim(orders.order_status)) as order_status,
        upper(trim(orders.currency)) as currency_code,
        try_cast(trim(orders.order_total) as decimal(18, 2)) as order_total,
        try_cast(trim(orders.order_total) as decimal(38, 18)) as order_total_exact,
        rates.usd_per_unit,
        parse_ts(orders.ordered_at) as ordered_at,
        parse_ts(orders.updated_at) as updated_at,
        orders.email as email_raw,
        orders.order_total as order_total_raw,
        orders._loaded_at, orders._source_file, orders._file_row_number
    from raw.shop_orders as orders
    left join (
        select currency_code, cast(usd_per_unit as decimal(12, 6)) as usd_per_unit
        from read_csv('{{currency_rates_csv}}', all_varchar = true)
    ) as rates
        on upper(trim(orders.currency)) = rates.currency_code
)
where not coalesce(
    order_id is null
    or bad_ts(ordered_at, _loaded_at)
    or bad_ts(updated_at, _loaded_at)
    or order_status not in ('placed', 'shipped', 'delivered', 'cancelled', 'refunded')
    or order_total is null
    or order_total_exact not between {{order_total_min}} and {{order_total_max}}
    or order_total_exact <> order_total
    or usd_per_unit is null
    or (shop_customer_id is null and email is null),
    false)
qualify row_number() over (partition by order_id, updated_at order by _loaded_at, _source_file, _file_row_number) = 1;

-- The products of each order, from its usable lines (behavioural conditions filter
-- orders by product); a line of an order with no usable version is unusable too.
create or replace table baseline.order_lines as
select distinct order_id, product_id
from (
    select
        clean(order_line_id) as order_line_id,
        clean(order_id) as order_id,
        clean(product_id) as product_id,
        try_cast(trim(quantity) as bigint) as quantity,
        try_cast(trim(unit_price) as decimal(18, 4)) as unit_price
    from raw.shop_order_lines
)
where not coalesce(
    order_line_id is null
    or order_id is null
    or product_id is null
    or quantity is null
    or quantity not between {{quantity_min}} and {{quantity_max}}
    or quantity = 0
    or unit_price is null
    or unit_price not between {{unit_price_min}} and {{unit_price_max}},
    false)
    and order_id in (select order_id from baseline.orders);

-- The product catalogue as of the cutoff: the latest usable version of each product.
create or replace table baseline.products as
select product_id, category
from (
    select
        clean(product_id) as product_id,
        lower(clean(category)) as category,
        clean(list_price) as list_price_raw,
        try_cast(trim(list_price) as decimal(18, 4)) as list_price,
        parse_ts(updated_at) as updated_at,
        _loaded_at, _source_file, _file_row_number
    from raw.shop_products
)
where not coalesce(
    product_id is null
    or bad_ts(updated_at, _loaded_at)
    or (list_price_raw is not null
        and (list_price is null or list_price not between {{list_price_min}} and {{list_price_max}})),
    false)
    and updated_at < '{{as_of_cutoff}}'
qualify row_number() over (
    partition by product_id order by updated_at desc, _loaded_at, _source_file, _file_row_number
) = 1;

create or replace table baseline.contacts as
select * exclude (email_raw, birth_date_raw, signed_up_at_raw, is_test_account_raw, _source_file, _file_row_number)
from (
    select
        clean(contact_id) as contact_id,
        clean(shop_customer_id) as shop_customer_id,
        clean(first_name) as first_name,
        email_or_null(email) as email,
        upper(clean(country_code)) as country_code,
        coalesce(case
            when lower(trim(is_test_account)) in ('true', 't', 'yes', 'y', '1') then true
            when lower(trim(is_test_account)) in ('false', 'f', 'no', 'n', '0') then false
        end, false) as is_test_account,
        case
            when try_cast(trim(birth_date) as date)
                between cast(parse_ts(updated_at) as date) - interval {{max_age_years}} year
                and cast(parse_ts(updated_at) as date)
                then try_cast(trim(birth_date) as date)
        end as birth_date,
        case
            when not bad_ts(parse_ts(signed_up_at), _loaded_at) then parse_ts(signed_up_at)
        end as signed_up_at,
        parse_ts(updated_at) as updated_at,
        email as email_raw,
        birth_date as birth_date_raw,
        signed_up_at as signed_up_at_raw,
        is_test_account as is_test_account_raw,
        _loaded_at, _source_file, _file_row_number
    from raw.crm_contacts
)
where not coalesce(
    contact_id is null
    or bad_ts(updated_at, _loaded_at)
    or (clean(is_test_account_raw) is not null
        and lower(trim(is_test_account_raw)) not in ('true', 't', 'yes', 'y', '1', 'false', 'f', 'no', 'n', '0')),
    false)
qualify row_number() over (partition by contact_id, updated_at order by _loaded_at, _source_file, _file_row_number) = 1;

create or replace table baseline.consent_purposes as
select * from (values
    ('email', 'email_marketing'), ('sms', 'sms_marketing'), ('ads', 'ad_user_data'),
    ('ads', 'ad_personalization'), ('onsite', 'onsite_personalisation')
) as purposes (channel, purpose);

create or replace table baseline.consent_events as
select consent_event_id, contact_id, channel, purpose, consent_status = 'granted' as is_granted, occurred_at
from (
    select
        clean(consent_event_id) as consent_event_id,
        clean(contact_id) as contact_id,
        lower(trim(channel)) as channel,
        lower(clean(purpose)) as purpose,
        lower(trim(consent_status)) as consent_status,
        parse_ts(occurred_at) as occurred_at,
        _loaded_at, _source_file, _file_row_number
    from raw.crm_consent_events
) as events
where not coalesce(
    consent_event_id is null
    or contact_id is null
    or channel not in ('email', 'sms', 'ads', 'onsite', 'all')
    or consent_status not in ('granted', 'revoked')
    or (channel = 'all' and consent_status = 'granted')
    or (purpose is not null
        and (channel, purpose) not in (select (channel, purpose) from baseline.consent_purposes))
    or bad_ts(occurred_at, _loaded_at),
    false)
qualify row_number() over (partition by consent_event_id order by _loaded_at, _source_file, _file_row_number) = 1;

create or replace temp table email_events_usable as
select email_event_id, campaign_id, email, event_type, bounce_type, occurred_at, _loaded_at, _source_file, _file_row_number
from (
    select
        clean(email_event_id) as email_event_id,
        clean(campaign_id) as campaign_id,
        norm_email(email) as email,
        lower(trim(event_type)) as event_type,
        lower(clean(bounce_type)) as bounce_type,
        parse_ts(occurred_at) as occurred_at,
        email as email_raw,
        _loaded_at, _source_file, _file_row_number
    from raw.email_events
)
where not coalesce(
    email_event_id is null
    or campaign_id is null
    or clean(email_raw) is null
    or bad_email(email_raw)
    or event_type not in ('send', 'delivery', 'open', 'click', 'bounce', 'unsubscribe', 'spam_complaint')
    or bad_ts(occurred_at, _loaded_at),
    false);

create or replace table baseline.email_events as
with later_deliveries as (
    select _source_file, _file_row_number
    from email_events_usable
    where email_event_id in (
        select email_event_id from email_events_usable group by email_event_id having count(*) > 1
    )
    qualify row_number() over (partition by email_event_id order by _loaded_at, _source_file, _file_row_number) > 1
)
select email_event_id, campaign_id, email, event_type, bounce_type, occurred_at
from email_events_usable
anti join later_deliveries using (_source_file, _file_row_number);

drop table email_events_usable;

create or replace table baseline.campaigns as
select campaign_id, campaign_type, campaign_type <> 'transactional' as is_marketing
from (
    select
        clean(campaign_id) as campaign_id,
        lower(trim(campaign_type)) as campaign_type,
        parse_ts(scheduled_at) as scheduled_at,
        _loaded_at, _source_file, _file_row_number
    from raw.email_campaigns
)
where not coalesce(
    campaign_id is null
    or campaign_type not in ('newsletter', 'promo', 'winback', 'transactional')
    or bad_ts(scheduled_at, _loaded_at),
    false)
qualify row_number() over (partition by campaign_id order by _loaded_at, _source_file, _file_row_number) = 1;

create or replace table baseline.erasure_requests as
select erasure_request_id, contact_id, email, requested_at
from (
    select
        clean(erasure_request_id) as erasure_request_id,
        clean(contact_id) as contact_id,
        email_or_null(email) as email,
        parse_ts(requested_at) as requested_at,
        email as email_raw,
        _loaded_at, _source_file, _file_row_number
    from raw.privacy_erasure_requests
)
where not coalesce(
    erasure_request_id is null
    or (email is null and contact_id is null)
    or bad_ts(requested_at, _loaded_at),
    false)
qualify row_number() over (partition by erasure_request_id order by _loaded_at, _source_file, _file_row_number) = 1;

-- stage: identity
-- identity: evidence up to the cutoff, blocked identifiers, connected components --------

create or replace temp table contact_versions as
select
    *,
    bool_or(is_test_account and is_latest) over (partition by contact_id) as is_test_contact
from (
    select
        contact_id, shop_customer_id, email, updated_at, is_test_account,
        row_number() over (partition by contact_id order by updated_at desc) = 1 as is_latest
    from baseline.contacts
    where updated_at < '{{as_of_cutoff}}'
);

create or replace temp table evidence as
select
    case when user_id is not null then 'shop_customer_id' else 'anonymous_id' end as id_type,
    coalesce(user_id, anonymous_id) as id_value,
    case when user_id is not null and anonymous_id is not null then 'anonymous_id' end as linked_type,
    case when user_id is not null then anonymous_id end as linked_value,
    false as is_test_account,
    occurred_at as observed_at
from baseline.web_events
where occurred_at < '{{as_of_cutoff}}'
union all
select
    case when shop_customer_id is not null then 'shop_customer_id' else 'email' end,
    coalesce(shop_customer_id, email),
    case when shop_customer_id is not null and email is not null then 'email' end,
    case when shop_customer_id is not null then email end,
    false,
    updated_at
from baseline.orders
where updated_at < '{{as_of_cutoff}}'
union all
select 'contact_id', contact_id, 'email', email, is_test_contact, updated_at
from contact_versions where email is not null
union all
select 'contact_id', contact_id, 'shop_customer_id', shop_customer_id, is_test_contact, updated_at
from contact_versions where shop_customer_id is not null
union all
select 'contact_id', contact_id, null, null, is_test_contact, updated_at
from contact_versions where email is null and shop_customer_id is null
union all
select 'email', email, null, null, false, occurred_at
from baseline.email_events
where occurred_at < '{{as_of_cutoff}}';

create or replace temp table identifier_pairs as
select distinct id_type, id_value, linked_type, linked_value
from evidence
where linked_value is not null;

create or replace temp table blocked as
with
neighbours as (
    select id_type, id_value, linked_type as n_type, linked_value as n_value from identifier_pairs
    union
    select linked_type, linked_value, id_type, id_value from identifier_pairs
),
link_counts as (
    select
        id_type, id_value,
        count(*) filter (where n_type in ('contact_id', 'shop_customer_id', 'email')) as link_count,
        count(*) filter (where n_type = 'shop_customer_id') as shop_account_count
    from neighbours
    group by all
)
select id_type, id_value from link_counts
where (id_type = 'anonymous_id' and shop_account_count > {{max_shop_accounts_per_device}})
    or link_count > {{max_links}}
union
select id_type, id_value from evidence where is_test_account
union
select linked_type, linked_value from evidence where is_test_account and linked_value is not null;

-- nodes: every unblocked identifier, keyed by type precedence then value
create or replace temp table nodes as
select
    id_type, id_value, first_seen_at,
    case id_type when 'contact_id' then '1' when 'shop_customer_id' then '2' when 'email' then '3' else '4' end
        || '|' || id_value as node_key
from (
    select id_type, id_value, min(observed_at) as first_seen_at
    from (
        select id_type, id_value, observed_at from evidence
        union all
        select linked_type, linked_value, observed_at from evidence where linked_value is not null
    )
    group by all
)
anti join blocked using (id_type, id_value);

create or replace temp table links as
with stitching as (
    select distinct own.node_key as a, linked.node_key as b
    from identifier_pairs
    inner join nodes as own
        on identifier_pairs.id_type = own.id_type and identifier_pairs.id_value = own.id_value
    inner join nodes as linked
        on identifier_pairs.linked_type = linked.id_type and identifier_pairs.linked_value = linked.id_value
)
select a, b from stitching
union
select b, a from stitching;

-- components: reachability among nodes with two or more links, then their single-link
-- neighbours; the label is the smallest node key of the component
create or replace temp table node_labels as
with recursive
degrees as (select a as node_key, count(*) as degree from links group by a),
core_links as (
    select links.a, links.b
    from links
    inner join degrees as da on links.a = da.node_key and da.degree > 1
    inner join degrees as db on links.b = db.node_key and db.degree > 1
),
reach(origin, node_key) as (
    select node_key, node_key from degrees where degree > 1
    union
    select reach.origin, core_links.b
    from reach
    inner join core_links on reach.node_key = core_links.a
),
core_labels as (
    select node_key, min(origin) as base_label from reach group by node_key
),
base_labels as (
    select node_key, base_label from core_labels
    union all
    select links.a, coalesce(core_labels.base_label, least(links.a, links.b))
    from links
    inner join degrees on links.a = degrees.node_key and degrees.degree = 1
    left join core_labels on links.b = core_labels.node_key
)
select node_key, min(node_key) over (partition by base_label) as label
from base_labels;

create or replace table baseline.identifiers as
with labelled as (
    select nodes.*, coalesce(node_labels.label, nodes.node_key) as label
    from nodes
    left join node_labels using (node_key)
),
representatives as (
    select label, id_type as rep_type, 'cus_' || md5(id_type || ':' || id_value) as customer_id
    from labelled
    where node_key = label
)
select labelled.id_type, labelled.id_value, labelled.first_seen_at, representatives.customer_id
from labelled
inner join representatives using (label)
where representatives.rep_type <> 'anonymous_id';

-- stage: customer features
-- customer features the segment rules read ------------------------------------------------

create or replace temp table latest_contacts as
select
    *,
    row_number() over (partition by customer_id order by updated_at desc, contact_id) as contact_rank
from (
    select identifiers.customer_id, contacts.*
    from baseline.contacts as contacts
    inner join baseline.identifiers as identifiers
        on identifiers.id_type = 'contact_id' and contacts.contact_id = identifiers.id_value
    where contacts.updated_at < '{{as_of_cutoff}}'
    qualify row_number() over (partition by contacts.contact_id order by contacts.updated_at desc, contacts._loaded_at desc) = 1
);

create or replace temp table customers as
with erased as (
    select identifiers.customer_id
    from baseline.erasure_requests as requests
    inner join baseline.identifiers as identifiers
        on (identifiers.id_type = 'email' and requests.email = identifiers.id_value)
        or (identifiers.id_type = 'contact_id' and requests.contact_id = identifiers.id_value)
    where requests.requested_at < '{{as_of_cutoff}}'
),
test_accounts as (
    select customer_id from latest_contacts where is_test_account
)
select distinct customer_id
from baseline.identifiers
anti join erased using (customer_id)
anti join test_accounts using (customer_id);

-- each order's latest version at the cutoff, on its customer (the account's, else the email's)
create or replace temp table attributed_orders as
select
    coalesce(by_account.customer_id, by_email.customer_id) as customer_id,
    latest_orders.*,
    latest_orders.order_total_usd < 0 as is_credit_note,
    latest_orders.order_total_usd >= 0 and not latest_orders.is_cancelled_or_refunded as is_counted,
    cast(case
        when latest_orders.order_total_usd < 0 then latest_orders.order_total_usd
        when latest_orders.is_cancelled_or_refunded then 0
        else latest_orders.order_total_usd
    end as decimal(18, 2)) as revenue_usd
from (
    select *
    from baseline.orders
    where updated_at < '{{as_of_cutoff}}' and ordered_at < '{{as_of_cutoff}}'
    qualify row_number() over (partition by order_id order by updated_at desc, _loaded_at desc) = 1
) as latest_orders
left join baseline.identifiers as by_account
    on by_account.id_type = 'shop_customer_id' and latest_orders.shop_customer_id = by_account.id_value
left join baseline.identifiers as by_email
    on by_email.id_type = 'email' and latest_orders.email = by_email.id_value;

create or replace temp table order_features as
with attributed as (
    select * from attributed_orders
)
select
    customer_id,
    count(*) filter (where is_counted) as orders_lifetime,
    sum(revenue_usd) as lifetime_revenue_usd,
    max(ordered_at) filter (where is_counted) as last_order_at,
    max(ordered_at) filter (where not is_credit_note) as last_placed_order_at
from attributed
where customer_id is not null
group by customer_id;

-- stage: web sessions
-- Sessions are cut per visitor hash bucket, one statement each, so a window holds one
-- eighth of the events at a time: one window over every event of a year does not fit
-- 10 GB at 1,000,000 customers.
create or replace temp macro bucket_sessions(bucket) as table
with
events as (
    select
        coalesce(anonymous_id, 'user:' || user_id) as visitor_key,
        event_id, anonymous_id, user_id, event_type, occurred_at
    from baseline.web_events
    where occurred_at < '{{as_of_cutoff}}'
        and hash(coalesce(anonymous_id, 'user:' || user_id)) % 8 = bucket
),
gaps as (
    select
        *,
        case
            when lag(occurred_at) over visitor_events is null then 1
            when date_diff('second', lag(occurred_at) over visitor_events, occurred_at) > {{session_inactivity_seconds}} then 1
            else 0
        end as is_session_start
    from events
    window visitor_events as (partition by visitor_key order by occurred_at, event_id)
),
numbered as (
    select
        *,
        sum(is_session_start) over (partition by visitor_key order by occurred_at, event_id rows unbounded preceding) as session_number
    from gaps
)
select
    min(occurred_at) as started_at,
    min(anonymous_id) as anonymous_id,
    arg_min(user_id, (occurred_at, event_id)) filter (where user_id is not null) as user_id,
    max(occurred_at) filter (where event_type = 'add_to_cart') as last_add_to_cart_at
from numbered
group by visitor_key, session_number;

create or replace temp table web_sessions as select * from bucket_sessions(0);
insert into web_sessions select * from bucket_sessions(1);
insert into web_sessions select * from bucket_sessions(2);
insert into web_sessions select * from bucket_sessions(3);
insert into web_sessions select * from bucket_sessions(4);
insert into web_sessions select * from bucket_sessions(5);
insert into web_sessions select * from bucket_sessions(6);
insert into web_sessions select * from bucket_sessions(7);

create or replace temp table web_features as
select
    coalesce(by_account.customer_id, by_browser.customer_id) as customer_id,
    min(sessions.started_at) as first_visit_at,
    max(sessions.started_at) as last_visit_at,
    max(sessions.last_add_to_cart_at) as last_add_to_cart_at
from web_sessions as sessions
left join baseline.identifiers as by_account
    on by_account.id_type = 'shop_customer_id' and sessions.user_id = by_account.id_value
left join baseline.identifiers as by_browser
    on by_browser.id_type = 'anonymous_id' and sessions.anonymous_id = by_browser.id_value
where coalesce(by_account.customer_id, by_browser.customer_id) is not null
group by all;

drop table web_sessions;

-- stage: email engagement
create or replace temp table email_features as
with
recipient_campaigns as (
    select
        email, campaign_id,
        min(occurred_at) as first_event_at,
        min(occurred_at) filter (where event_type = 'send') as first_sent_at,
        max(occurred_at) filter (where event_type = 'open') as last_opened_at,
        count(*) filter (where event_type = 'open') > 0 as was_opened_by_address
    from baseline.email_events
    where occurred_at < '{{as_of_cutoff}}'
    group by all
),
customer_campaigns as (
    select
        identifiers.customer_id,
        recipient_campaigns.campaign_id,
        coalesce(any_value(campaigns.is_marketing), true) as is_marketing,
        min(recipient_campaigns.first_sent_at) as first_sent_at,
        max(recipient_campaigns.last_opened_at) as last_opened_at,
        bool_or(recipient_campaigns.was_opened_by_address) as was_opened
    from recipient_campaigns
    inner join baseline.identifiers as identifiers
        on identifiers.id_type = 'email' and recipient_campaigns.email = identifiers.id_value
    left join baseline.campaigns as campaigns
        on recipient_campaigns.campaign_id = campaigns.campaign_id
    group by all
),
last_three as (
    select customer_id, count(*) = 3 and bool_and(was_opened) as opened_last_3_campaigns
    from (
        select *
        from customer_campaigns
        where is_marketing and first_sent_at is not null
        qualify row_number() over (partition by customer_id order by first_sent_at desc, campaign_id desc) <= 3
    )
    group by customer_id
)
select
    customer_id,
    max(customer_campaigns.last_opened_at) filter (where is_marketing) as last_email_opened_at,
    any_value(last_three.opened_last_3_campaigns) as opened_last_3_campaigns
from customer_campaigns
left join last_three using (customer_id)
group by customer_id;

-- stage: customer features
-- Consent per customer and purpose: the latest signal wins (CRM events, global unsubscribes
-- covering every purpose, email-platform unsubscribes and spam complaints withdrawing
-- email); a channel is consented when all its purposes are granted.
create or replace temp table consent_features as
with signals as (
    select identifiers.customer_id, consent.channel, consent.purpose, consent.is_granted,
        consent.occurred_at, consent.consent_event_id as event_id
    from baseline.consent_events as consent
    inner join baseline.identifiers as identifiers
        on identifiers.id_type = 'contact_id' and consent.contact_id = identifiers.id_value
    where consent.occurred_at < '{{as_of_cutoff}}'
    union all
    select identifiers.customer_id, 'email', null, false, events.occurred_at, events.email_event_id
    from baseline.email_events as events
    inner join baseline.identifiers as identifiers
        on identifiers.id_type = 'email' and events.email = identifiers.id_value
    where events.event_type in ('unsubscribe', 'spam_complaint') and events.occurred_at < '{{as_of_cutoff}}'
),
purpose_consents as (
    select signals.customer_id, purposes.channel, purposes.purpose, signals.is_granted
    from signals
    inner join baseline.consent_purposes as purposes
        on (signals.channel = 'all' or signals.channel = purposes.channel)
        and (signals.purpose is null or signals.purpose = purposes.purpose)
    qualify row_number() over (
        partition by signals.customer_id, purposes.purpose
        order by signals.occurred_at desc, signals.event_id desc
    ) = 1
)
select
    customer_id,
    count(*) filter (where channel = 'email' and is_granted) = 1 as has_email_consent,
    count(*) filter (where channel = 'sms' and is_granted) = 1 as has_sms_consent,
    count(*) filter (where channel = 'ads' and is_granted) = 2 as has_ads_consent
from purpose_consents
group by customer_id;

create or replace temp table hard_bounced_emails as
select distinct email
from baseline.email_events
where event_type = 'bounce' and bounce_type = 'hard' and occurred_at < '{{as_of_cutoff}}';

create or replace table baseline.customer_features as
with first_emails as (
    select customer_id, arg_min(id_value, (first_seen_at, id_value)) as email
    from baseline.identifiers
    where id_type = 'email'
    group by customer_id
)
select
    customers.customer_id,
    coalesce(order_features.orders_lifetime, 0) as orders_lifetime,
    coalesce(order_features.orders_lifetime, 0) > 0 as has_ordered,
    cast(coalesce(order_features.lifetime_revenue_usd, 0) as decimal(18, 2)) as lifetime_revenue_usd,
    cast(case
        when coalesce(order_features.orders_lifetime, 0) > 0
            then order_features.lifetime_revenue_usd / order_features.orders_lifetime
        else 0
    end as decimal(18, 2)) as average_order_value_usd,
    coalesce(date_diff('day', cast(order_features.last_order_at as date), date '{{as_of}}'), 9999) as days_since_last_order,
    web_features.first_visit_at is not null as has_visited,
    coalesce(date_diff('day', cast(web_features.first_visit_at as date), date '{{as_of}}'), 9999) as days_since_first_visit,
    coalesce(date_diff('day', cast(web_features.last_visit_at as date), date '{{as_of}}'), 9999) as days_since_last_visit,
    coalesce(
        web_features.last_add_to_cart_at > order_features.last_placed_order_at
        or (web_features.last_add_to_cart_at is not null and order_features.last_placed_order_at is null),
        false
    ) as has_open_cart,
    email_features.last_email_opened_at is not null as has_opened_email,
    coalesce(date_diff('day', cast(email_features.last_email_opened_at as date), date '{{as_of}}'), 9999) as days_since_last_email_open,
    coalesce(email_features.opened_last_3_campaigns, false) as opened_last_3_campaigns,
    coalesce(consent_features.has_email_consent, false) as has_email_consent,
    coalesce(consent_features.has_sms_consent, false) as has_sms_consent,
    coalesce(consent_features.has_ads_consent, false) as has_ads_consent,
    hard_bounced_emails.email is not null as is_email_undeliverable,
    cast((
        (coalesce(primary_contacts.email, first_emails.email) is not null)::int
        + (primary_contacts.country_code is not null)::int
        + (primary_contacts.birth_date is not null)::int
        + (primary_contacts.first_name is not null)::int
    ) / 4.0 as decimal(3, 2)) as profile_completeness
from customers
left join latest_contacts as primary_contacts
    on customers.customer_id = primary_contacts.customer_id and primary_contacts.contact_rank = 1
left join first_emails on customers.customer_id = first_emails.customer_id
left join order_features on customers.customer_id = order_features.customer_id
left join web_features on customers.customer_id = web_features.customer_id
left join email_features on customers.customer_id = email_features.customer_id
left join consent_features on customers.customer_id = consent_features.customer_id
left join hard_bounced_emails on primary_contacts.email = hard_bounced_emails.email;

-- stage: segments
-- behavioural events the segments' conditions read, on today's customers --------------------
-- One row per web event (on the shop account's customer, else the browser's), per email
-- event (on the address's customer) and per counted order and product it holds (an order
-- without lines once; the latest version at the cutoff, attributed as order_features does),
-- with every property of the event catalogue. Only the events some active condition names.

create or replace table baseline.behaviour_events as
with
events as (
    select
        coalesce(by_account.customer_id, by_browser.customer_id) as customer_id,
        web.event_type as event_name,
        web.event_id,
        web.occurred_at,
        web.product_id,
        products.category as product_category,
        web.utm_source, web.utm_medium, web.utm_campaign, web.device_type,
        cast(null as decimal(18, 2)) as order_value_usd,
        cast(null as varchar) as currency_code,
        cast(null as boolean) as is_guest_checkout,
        cast(null as varchar) as campaign_id,
        cast(null as varchar) as campaign_type,
        cast(null as boolean) as is_marketing,
        cast(null as varchar) as bounce_type
    from baseline.web_events as web
    left join baseline.identifiers as by_account
        on by_account.id_type = 'shop_customer_id' and web.user_id = by_account.id_value
    left join baseline.identifiers as by_browser
        on by_browser.id_type = 'anonymous_id' and web.anonymous_id = by_browser.id_value
    left join baseline.products as products on web.product_id = products.product_id
    where web.occurred_at < '{{as_of_cutoff}}' and web.event_type in ({{behaviour_event_names}})
    union all
    select
        orders.customer_id,
        'order', orders.order_id, orders.ordered_at,
        lines.product_id, products.category,
        null, null, null, null,
        orders.order_total_usd, orders.currency_code, orders.is_guest_checkout,
        null, null, null, null
    from attributed_orders as orders
    left join baseline.order_lines as lines on orders.order_id = lines.order_id
    left join baseline.products as products on lines.product_id = products.product_id
    where orders.is_counted and 'order' in ({{behaviour_event_names}})
    union all
    select
        identifiers.customer_id, 'email_' || email.event_type, email.email_event_id, email.occurred_at,
        null, null, null, null, null, null, null, null, null,
        email.campaign_id, campaigns.campaign_type, coalesce(campaigns.is_marketing, true), email.bounce_type
    from baseline.email_events as email
    inner join baseline.identifiers as identifiers
        on identifiers.id_type = 'email' and email.email = identifiers.id_value
    left join baseline.campaigns as campaigns on email.campaign_id = campaigns.campaign_id
    where email.occurred_at < '{{as_of_cutoff}}' and 'email_' || email.event_type in ({{behaviour_event_names}})
)
select *, cast(occurred_at as date) as activity_date
from events
where customer_id is not null;

-- segment rules and conditions from the registry, priorities and the default segment --------
-- Each active segment's members (after consent and completeness) are inserted in the order
-- of the segments they read through member_of.

create or replace table baseline.segment_members (customer_id varchar, segment_key varchar, priority integer);

{{segment_member_inserts}}

create or replace table baseline.segment_memberships as
select customer_id, segment_key, priority from baseline.segment_members
union all
select customer_id, '{{default_segment_key}}', {{default_segment_priority}}
from baseline.customer_features
anti join baseline.segment_members using (customer_id);

create or replace table baseline.customer_primary_segments as
select customer_id, arg_min(segment_key, priority) as primary_segment_key
from baseline.segment_memberships
group by customer_id;
