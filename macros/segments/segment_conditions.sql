{#- Compilation of the segments' behavioural conditions (the `conditions` tree of a registry
    entry, docs/segments.md "Behavioural conditions") into SQL.

    segment_condition_plan() walks the tree of every active segment and returns:
      segments  key -> {sql: the segment's condition as a boolean SQL expression over the
                columns of int_segment_condition_values (and member_of__<key> flags),
                evidence: [(condition path, column)], member_of: [keys it reads]}
      families  family -> {measures: [(column, aggregate SQL)], lower: earliest activity date
                any measure reads (none: all history), events, properties}: one pass each
      keyed     one entry per per_key condition: its rows, measures and verdict
    Every window is turned into literal dates from as_of here, so the expressions the
    segments models splice (and the rule_hash made from them) hold no date: a segment's
    definition does not change because time passed. The validator
    (scripts/segment_conditions.py) has already checked every tree against the event
    catalogue, so this code trusts names, types and shapes.
    `segments` (default: the registry) plans other entries instead: the threshold sensitivity
    report plans one segment with a count changed, whose measures are then named as the
    registry's plan names them (the names follow the segment key and the tree's shape). -#}
{% macro segment_condition_plan(segments=none) %}
    {%- set catalogue = segment_event_catalogue() -%}
    {%- set event_family = {} -%}
    {%- set families = {} -%}
    {%- for family_name, family in catalogue.items() -%}
        {%- for event in family.events -%}
            {%- do event_family.update({event: family_name}) -%}
        {%- endfor -%}
        {%- do families.update({family_name: {
            'families': [family_name], 'measures': [], 'lower': [], 'unbounded': [], 'events': [], 'properties': [],
            'property_types': family.properties,
        }}) -%}
    {%- endfor -%}
    {%- set plan = {'segments': {}, 'families': families, 'keyed': [], 'event_family': event_family} -%}
    {%- if not execute -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set as_of = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d').date() -%}
    {%- for segment in (segments if segments is not none else segment_registry())
        if segment.status == 'active' and segment.get('conditions') is not none -%}
        {%- set context = {
            'segment_key': segment.key,
            'prefix': 'cv_' ~ local_md5(segment.key)[:10],
            'counter': [0],
            'evidence': [],
            'member_of': [],
            'as_of': as_of,
            'plan': plan,
        } -%}
        {%- set condition_sql = segment_condition_node_sql(segment.conditions, 'conditions', context, none) -%}
        {%- do plan.segments.update({segment.key: {
            'sql': condition_sql,
            'evidence': context.evidence,
            'member_of': context.member_of,
        }}) -%}
    {%- endfor -%}
    {{ return(plan) }}
{% endmacro %}


{#- The SQL of one condition node (a mapping with one kind key) at `path`. Inside a per_key
    condition `keyed` is that condition's entry of plan.keyed, whose measures are grouped
    per customer and key; elsewhere none (measures of a family's per-customer pass). -#}
{% macro segment_condition_node_sql(node, path, context, keyed) %}
    {%- set kind = (node.keys() | list)[0] -%}
    {%- set spec = node[kind] -%}
    {%- set here = path ~ '.' ~ kind -%}
    {%- set plan = context.plan -%}

    {%- if kind in ('all', 'any') -%}
        {%- set parts = [] -%}
        {%- for child in spec -%}
            {%- do parts.append(segment_condition_node_sql(child, here ~ '[' ~ loop.index0 ~ ']', context, keyed)) -%}
        {%- endfor -%}
        {{ return('(' ~ parts | join(' and ' if kind == 'all' else ' or ') ~ ')') }}

    {%- elif kind == 'not' -%}
        {{ return('(not ' ~ segment_condition_node_sql(spec, here, context, keyed) ~ ')') }}

    {%- elif kind == 'performed' -%}
        {%- set window = segment_condition_window(spec, context.as_of) -%}
        {%- set column = segment_condition_measure(context, keyed, spec.event, 'count', spec.get('where'), window, here) -%}
        {{ return(segment_condition_count_test(column, spec.get('count'))) }}

    {%- elif kind == 'first_performed' -%}
        {%- set window = segment_condition_window(spec, context.as_of) -%}
        {%- set unbounded = {'from': none, 'to': none} -%}
        {%- set first_column = segment_condition_measure(context, keyed, spec.event, 'first_date', spec.get('where'), unbounded, here ~ '.first_date') -%}
        {%- set column = segment_condition_holds(context, spec.event, segment_condition_date_test(segment_condition_aggregate(context, spec.event, 'first_date', spec.get('where'), unbounded), window), spec.get('where'), unbounded) -%}
        {{ return(column ~ ' = 1') }}

    {%- elif kind == 'last_performed' -%}
        {%- set window = segment_condition_window(spec, context.as_of) -%}
        {%- set since = {'from': window['from'], 'to': none} -%}
        {%- set last_date = segment_condition_aggregate(context, spec.event, 'last_date', spec.get('where'), since) -%}
        {%- do segment_condition_measure(context, keyed, spec.event, 'last_date', spec.get('where'), since, here ~ '.last_date') -%}
        {%- set verdict = segment_condition_date_test(last_date, window) -%}
        {%- if spec.get('last_event_where') -%}
            {%- set last_at = segment_condition_aggregate(context, spec.event, 'last_at', spec.get('where'), since) -%}
            {%- set matching_where = (spec.get('where') or []) + spec.last_event_where -%}
            {%- set last_matching_at = segment_condition_aggregate(context, spec.event, 'last_at', matching_where, since) -%}
            {%- set verdict = '(' ~ verdict ~ ' and ' ~ last_matching_at ~ ' = ' ~ last_at ~ ')' -%}
        {%- endif -%}
        {%- set column = segment_condition_holds(context, spec.event, verdict, (spec.get('where') or []) + (spec.get('last_event_where') or []), since) -%}
        {{ return(column ~ ' = 1') }}

    {%- elif kind == 'stopped_performing' -%}
        {%- set as_of = context.as_of -%}
        {%- set inactive_from = as_of - modules.datetime.timedelta(days=spec.inactive_days - 1) -%}
        {%- set active_to = inactive_from - modules.datetime.timedelta(days=1) -%}
        {%- set active = {'from': active_to - modules.datetime.timedelta(days=spec.active_days - 1), 'to': active_to} -%}
        {%- set inactive = {'from': inactive_from, 'to': none} -%}
        {%- set active_column = segment_condition_measure(context, keyed, spec.event, 'count', spec.get('where'), active, here ~ '.active_window') -%}
        {%- set inactive_column = segment_condition_measure(context, keyed, spec.event, 'count', spec.get('where'), inactive, here ~ '.inactive_window') -%}
        {{ return('(' ~ segment_condition_count_test(active_column, spec.get('count')) ~ ' and coalesce(' ~ inactive_column ~ ', 0) = 0)') }}

    {%- elif kind == 'restarted_performing' -%}
        {%- set as_of = context.as_of -%}
        {%- set day = modules.datetime.timedelta(days=1) -%}
        {%- set recent_from = as_of - modules.datetime.timedelta(days=spec.recent_days - 1) -%}
        {%- set inactive_from = recent_from - modules.datetime.timedelta(days=spec.inactive_days) -%}
        {%- set earlier_to = inactive_from - day -%}
        {%- set earlier_from = (earlier_to - modules.datetime.timedelta(days=spec.earlier_days - 1)) if spec.get('earlier_days') else none -%}
        {%- set recent_column = segment_condition_measure(context, keyed, spec.event, 'count', spec.get('where'), {'from': recent_from, 'to': none}, here ~ '.recent_window') -%}
        {%- set inactive_column = segment_condition_measure(context, keyed, spec.event, 'count', spec.get('where'), {'from': inactive_from, 'to': recent_from - day}, here ~ '.inactive_window') -%}
        {%- set earlier_column = segment_condition_measure(context, keyed, spec.event, 'count', spec.get('where'), {'from': earlier_from, 'to': earlier_to}, here ~ '.earlier_window') -%}
        {{ return('(coalesce(' ~ recent_column ~ ', 0) > 0 and coalesce(' ~ inactive_column ~ ', 0) = 0 and coalesce(' ~ earlier_column ~ ', 0) > 0)') }}

    {%- elif kind == 'per_key' -%}
        {%- set block_name = segment_condition_next_column(context) -%}
        {%- set block = {
            'name': block_name, 'key': spec.key, 'require': spec.get('require') or 'some',
            'measures': [], 'families': [], 'events': [], 'properties': [], 'lower': [], 'unbounded': [],
            'keys': spec.get('keys'), 'candidate': none, 'verdict': none,
        } -%}
        {%- if spec.get('keys') -%}
            {%- set candidate = segment_condition_aggregate(context, spec['keys'].event, 'last_at', spec['keys'].get('where'), {'from': none, 'to': none}) -%}
            {%- do segment_condition_use(context, block, spec['keys'].event, spec['keys'].get('where'), {'from': none, 'to': none}) -%}
            {%- do block.update({'candidate': candidate}) -%}
        {%- endif -%}
        {%- set verdict = segment_condition_node_sql(spec.condition, here ~ '.condition', context, block) -%}
        {#- The candidate keys are every key its events carry up to as_of (or the last N of
            `keys`), whatever the inner windows, so the block reads all their history. -#}
        {%- do block.unbounded.append(true) -%}
        {%- do block.update({'verdict': verdict}) -%}
        {%- do plan.keyed.append(block) -%}
        {%- do context.evidence.append((here, block_name)) -%}
        {{ return('coalesce(' ~ block_name ~ ', 0) = 1') }}

    {%- elif kind == 'member_of' -%}
        {%- if spec not in context.member_of -%}
            {%- do context.member_of.append(spec) -%}
        {%- endif -%}
        {%- do context.evidence.append((here, segment_member_flag_column(spec))) -%}
        {{ return('coalesce(' ~ segment_member_flag_column(spec) ~ ', 0) = 1') }}

    {%- elif kind == 'random_bucket' -%}
        {%- set bucket = holdout_bucket(segment_sql_string(context.segment_key), 'customer_id') -%}
        {{ return('(' ~ bucket ~ ' < ' ~ ((spec.percent * 100) | round | int) ~ ')') }}

    {%- else -%}
        {{ exceptions.raise_compiler_error("segment '" ~ context.segment_key ~ "': " ~ here ~ ": unknown condition kind (run scripts/segment_registry.py validate)") }}
    {%- endif -%}
{% endmacro %}


{#- The column holding whether a customer is a member of `segment_key`, read by member_of. -#}
{% macro segment_member_flag_column(segment_key) -%}
    {{- 'member_of__' ~ segment_key -}}
{%- endmacro %}


{#- The next column name of a segment's condition values: cv_<md5(key)[:10]>_<n>. -#}
{% macro segment_condition_next_column(context) %}
    {%- set number = context.counter.pop() + 1 -%}
    {%- do context.counter.append(number) -%}
    {{ return(context.prefix ~ '_' ~ number) }}
{% endmacro %}


{#- A window as inclusive literal dates {'from', 'to'} (none: unbounded, to as_of) from a
    condition's within_days (the N days ending on as_of) or between [from, to]. -#}
{% macro segment_condition_window(spec, as_of) %}
    {%- if spec.get('within_days') is not none -%}
        {{ return({'from': as_of - modules.datetime.timedelta(days=spec.within_days - 1), 'to': none}) }}
    {%- elif spec.get('between') -%}
        {%- set to_date = modules.datetime.datetime.strptime(spec.between[1] | string, '%Y-%m-%d').date() -%}
        {{ return({
            'from': modules.datetime.datetime.strptime(spec.between[0] | string, '%Y-%m-%d').date(),
            'to': to_date if to_date < as_of else none,
        }) }}
    {%- endif -%}
    {{ return({'from': none, 'to': none}) }}
{% endmacro %}


{% macro segment_condition_date_literal(value) -%}
    cast('{{ value.strftime("%Y-%m-%d") }}' as date)
{%- endmacro %}


{#- SQL that an activity date (or a date expression) lies in a window. -#}
{% macro segment_condition_date_test(expression, window) %}
    {%- set tests = [expression ~ ' is not null'] -%}
    {%- if window['from'] is not none -%}
        {%- do tests.append(expression ~ ' >= ' ~ segment_condition_date_literal(window['from'])) -%}
    {%- endif -%}
    {%- if window['to'] is not none -%}
        {%- do tests.append(expression ~ ' <= ' ~ segment_condition_date_literal(window['to'])) -%}
    {%- endif -%}
    {{ return('(' ~ tests | join(' and ') ~ ')') }}
{% endmacro %}


{#- SQL comparing a count column with a condition's count ({at_least|at_most|exactly: N};
    at least 1 when absent). A customer without such events counts 0. -#}
{% macro segment_condition_count_test(column, count) %}
    {%- set count = count or {'at_least': 1} -%}
    {%- set operators = {'at_least': '>=', 'at_most': '<=', 'exactly': '='} -%}
    {%- for name, operator in operators.items() if count.get(name) is not none -%}
        {{ return('coalesce(' ~ column ~ ', 0) ' ~ operator ~ ' ' ~ (count[name] | int)) }}
    {%- endfor -%}
{% endmacro %}


{#- The predicate that selects a condition's events: its event name and property filters.
    '!=' and 'not in' hold for an event without the property; the other operators do not. -#}
{% macro segment_condition_event_predicate(context, event, where) %}
    {%- set family = context.plan.event_family[event] -%}
    {%- set types = context.plan.families[family].property_types -%}
    {%- set tests = ['event_name = ' ~ segment_sql_string(event)] -%}
    {%- for filter in where or [] -%}
        {%- set operator = (filter.get('op') or '=') | lower -%}
        {%- set property = filter.property -%}
        {%- if operator in ('in', 'not in') -%}
            {%- set literals = [] -%}
            {%- for value in filter['values'] -%}
                {%- do literals.append(segment_condition_literal(value, types[property])) -%}
            {%- endfor -%}
            {%- set test = property ~ ' ' ~ operator ~ ' (' ~ literals | join(', ') ~ ')' -%}
        {%- else -%}
            {%- set test = property ~ ' ' ~ operator ~ ' ' ~ segment_condition_literal(filter.value, types[property]) -%}
        {%- endif -%}
        {%- if operator in ('!=', 'not in') -%}
            {%- set test = '(' ~ property ~ ' is null or ' ~ test ~ ')' -%}
        {%- endif -%}
        {%- do tests.append(test) -%}
    {%- endfor -%}
    {{ return('(' ~ tests | join(' and ') ~ ')') }}
{% endmacro %}


{#- A filter value as a SQL literal of its property's type; text is compared as written. -#}
{% macro segment_condition_literal(value, property_type) %}
    {%- if property_type == 'number' -%}
        {{ return(value | string) }}
    {%- elif property_type == 'boolean' -%}
        {{ return('true' if value is sameas true or (value | string | lower) == 'true' else 'false') }}
    {%- endif -%}
    {{ return(segment_sql_string(value)) }}
{% endmacro %}


{#- The aggregate SQL of one measure over a family's rows (one row per customer and day,
    or per order and product for orders):
      count       events (orders: distinct orders) matching the predicate in the window
      first_date  the earliest matching activity date
      last_date   the latest matching activity date
      last_at     the latest matching event time -#}
{% macro segment_condition_aggregate(context, event, measure, where, window) %}
    {%- set family = context.plan.event_family[event] -%}
    {%- set tests = [segment_condition_event_predicate(context, event, where)] -%}
    {%- if window['from'] is not none or window['to'] is not none -%}
        {%- do tests.append(segment_condition_date_test('activity_date', window)) -%}
    {%- endif -%}
    {%- set predicate = tests | join(' and ') -%}
    {%- if measure == 'count' and family == 'order' -%}
        {{ return('count(distinct case when ' ~ predicate ~ ' then order_id end)') }}
    {%- elif measure == 'count' -%}
        {{ return('cast(sum(case when ' ~ predicate ~ ' then event_count else 0 end) as ' ~ dbt.type_bigint() ~ ')') }}
    {%- elif measure == 'first_date' -%}
        {{ return('min(case when ' ~ predicate ~ ' then activity_date end)') }}
    {%- elif measure == 'last_date' -%}
        {{ return('max(case when ' ~ predicate ~ ' then activity_date end)') }}
    {%- else -%}
        {{ return('max(case when ' ~ predicate ~ ' then last_occurred_at end)') }}
    {%- endif -%}
{% endmacro %}


{#- Record that a pass (a family's, or a per_key block's) reads `event` with these filters
    from `window`'s first day on: the events, properties and earliest day it must scan. -#}
{% macro segment_condition_use(context, target, event, where, window) %}
    {%- set family = context.plan.event_family[event] -%}
    {%- if family not in target.families -%}
        {%- do target.families.append(family) -%}
    {%- endif -%}
    {%- if event not in target.events -%}
        {%- do target.events.append(event) -%}
    {%- endif -%}
    {%- for filter in where or [] if filter.property not in target.properties -%}
        {%- do target.properties.append(filter.property) -%}
    {%- endfor -%}
    {%- if window['from'] is none -%}
        {%- do target.unbounded.append(true) -%}
    {%- else -%}
        {%- do target.lower.append(window['from']) -%}
    {%- endif -%}
    {{ return(family) }}
{% endmacro %}


{#- Add a measure to its pass and return its column: the family's per-customer pass, or the
    per_key block's per-(customer, key) pass. Its value is recorded as evidence at `path`. -#}
{% macro segment_condition_measure(context, keyed, event, measure, where, window, path) %}
    {%- set column = segment_condition_next_column(context) -%}
    {%- set aggregate = segment_condition_aggregate(context, event, measure, where, window) -%}
    {%- if keyed is none -%}
        {%- set family = context.plan.event_family[event] -%}
        {%- set target = context.plan.families[family] -%}
        {%- do segment_condition_use(context, target, event, where, window) -%}
        {%- do target.measures.append((column, aggregate)) -%}
        {%- do context.evidence.append((path, column)) -%}
    {%- else -%}
        {%- do segment_condition_use(context, keyed, event, where, window) -%}
        {%- do keyed.measures.append((column, aggregate)) -%}
    {%- endif -%}
    {{ return(column) }}
{% endmacro %}


{#- Add a 0/1 measure, computed in the family's pass, holding whether `verdict` (an
    expression over that pass's aggregates) is true; return its column. Date comparisons
    stay in int_segment_condition_values, so the segment's expression holds no date. -#}
{% macro segment_condition_holds(context, event, verdict, where, window) %}
    {%- set column = segment_condition_next_column(context) -%}
    {%- set family = context.plan.event_family[event] -%}
    {%- set target = context.plan.families[family] -%}
    {%- do segment_condition_use(context, target, event, where, window) -%}
    {%- do target.measures.append((column, 'case when ' ~ verdict ~ ' then 1 else 0 end')) -%}
    {{ return(column) }}
{% endmacro %}


{#- The row filter of a family's events CTE: only the events some condition names, from
    the earliest day any of them reads (every day when one reads all history). Covers the
    family's per-customer pass and every per_key block that reads the family. -#}
{% macro segment_condition_pass_filter(plan, family_name, event_column, date_column) %}
    {%- set events = [] -%}
    {%- set lower = [] -%}
    {%- set unbounded = [] -%}
    {%- set targets = [plan.families[family_name]] -%}
    {%- for block in plan.keyed if family_name in block.families -%}
        {%- do targets.append(block) -%}
    {%- endfor -%}
    {%- for target in targets -%}
        {%- for event in target.events if plan.event_family[event] == family_name and event not in events -%}
            {%- do events.append(event) -%}
        {%- endfor -%}
        {%- do lower.extend(target.lower) -%}
        {%- do unbounded.extend(target.unbounded) -%}
    {%- endfor -%}
    {%- set literals = [] -%}
    {%- for event in events -%}
        {%- do literals.append(segment_sql_string(event)) -%}
    {%- endfor -%}
    {%- set filter = 'and ' ~ event_column ~ ' in (' ~ literals | join(', ') ~ ')' -%}
    {%- if not unbounded and lower -%}
        {%- set filter = filter ~ ' and ' ~ date_column ~ ' >= ' ~ segment_condition_date_literal(lower | min) -%}
    {%- endif -%}
    {{ return(filter) }}
{% endmacro %}


{#- A property's column in a family's events, or a typed null when the family lacks it
    (per_key blocks union the families they read). -#}
{% macro segment_condition_property_or_null(plan, family_name, property) %}
    {%- set types = plan.families[family_name].property_types -%}
    {%- if property in types -%}
        {{ return(property) }}
    {%- endif -%}
    {%- set sql_types = {'text': dbt.type_string(), 'number': dbt.type_float(), 'boolean': dbt.type_boolean()} -%}
    {%- set found = namespace(property_type='text') -%}
    {%- for other in plan.families.values() if property in other.property_types -%}
        {%- set found.property_type = other.property_types[property] -%}
    {%- endfor -%}
    {{ return('cast(null as ' ~ sql_types.get(found.property_type, dbt.type_string()) ~ ')') }}
{% endmacro %}


{#- The measure columns of int_segment_condition_values, in the order it builds them. -#}
{% macro segment_condition_columns() %}
    {%- set plan = segment_condition_plan() -%}
    {%- set columns = [] -%}
    {%- for family in plan.families.values() -%}
        {%- for column, aggregate in family.measures -%}
            {%- do columns.append(column) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for block in plan.keyed -%}
        {%- do columns.append(block.name) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}


{#- One row per customer of `relation` (rows of int_segment_rules_evaluated: customer_id,
    segment_key, is_member) with a 0/1 member_of__<key> column per segment in `targets`. -#}
{% macro segment_member_flags_select(relation, targets) -%}
    select
        customer_id
        {%- for target in targets %},
        max(case when segment_key = {{ segment_sql_string(target) }} and is_member then 1 else 0 end)
            as {{ segment_member_flag_column(target) }}
        {%- endfor %}
    from {{ relation }}
    group by customer_id
{%- endmacro %}
