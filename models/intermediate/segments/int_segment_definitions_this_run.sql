-- One row per segment with a recorded definition: its newest definition (rule hash and
-- status) and the newest one the previous build used, the versions recorded before this
-- build started (a version recorded by this build has recorded_at = this build's start).
-- The membership history compares the two to tell a changed rule, an activation or an
-- archival from a customer's own change; previous_* are null for a segment the previous
-- build did not know.
with

int_segment_definitions_historized as (
    select * from {{ ref('int_segment_definitions_historized') }}
),

definition_versions as (
    select
        segment_key,
        max(definition_version) as latest_version,
        max(
            case
                when recorded_at is null or recorded_at < {{ build_started_at() }}
                    then definition_version
            end
        ) as previous_version
    from int_segment_definitions_historized
    group by segment_key
),

final as (
    select
        definition_versions.segment_key,
        latest_definitions.rule_hash as latest_rule_hash,
        latest_definitions.status as latest_status,
        previous_definitions.rule_hash as previous_rule_hash,
        previous_definitions.status as previous_status
    from definition_versions
    inner join int_segment_definitions_historized as latest_definitions
        on definition_versions.segment_key = latest_definitions.segment_key
            and definition_versions.latest_version = latest_definitions.definition_version
    left join int_segment_definitions_historized as previous_definitions
        on definition_versions.segment_key = previous_definitions.segment_key
            and definition_versions.previous_version = previous_definitions.definition_version
)

select * from final
