"""Identity resolution's incremental run on a real (small) warehouse.

``int_identifiers_resolved_to_customers`` compares every identifier with its stored row
(first sighting, neighbour count and fingerprint) and relabels only the customers of the
changed ones. A small warehouse is built once; the tests check that:
- the fingerprints the labelling stores (computed from node numbers) equal the ones an
  incremental run compares them with (computed from the edges' text), so an unchanged
  identifier is never taken for a changed one;
- an identifier whose stored fingerprint no longer matches gets its whole customer
  relabelled, and the table comes out exactly as before (the labelling is deterministic);
- a table built before the model was incremental (no fingerprint columns) stops the run
  with a message naming the one-off full refresh, and leaves the table as it was.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from test_incremental_equals_full import DBT, END_DATE, REPO, run, small_warehouse
from test_incremental_equals_full import execute as execute_sql

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="needs dbt beside this Python")

RESOLVED = "intermediate.int_identifiers_resolved_to_customers"
FULL_REFRESH_HINT = "dbt run --full-refresh --select int_identifiers_resolved_to_customers"


def dbt_run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DBT), "run", "--select", "int_identifiers_resolved_to_customers",
         "--vars", json.dumps({"as_of": END_DATE.isoformat()}), *args],
        cwd=REPO, env=env, capture_output=True, text=True,
    )


def table_rows(warehouse: dict) -> list[tuple]:
    return execute_sql(warehouse["database"], f"select * from {RESOLVED} order by identifier_type, identifier_value")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return small_warehouse(tmp_path_factory.mktemp("resolution"), "+int_identifiers_resolved_to_customers")


def test_stored_fingerprints_equal_those_computed_from_the_edges_text(warehouse: dict) -> None:
    [(compared, differing)] = execute_sql(warehouse["database"], f"""
        with stitching_pairs as (
            select distinct identifier_type, identifier_value, linked_identifier_type, linked_identifier_value
            from intermediate.int_identity_edges
            where not is_dropped
        ),
        directed_pairs as (
            select * from stitching_pairs
            union all
            select linked_identifier_type, linked_identifier_value, identifier_type, identifier_value
            from stitching_pairs
        ),
        neighbourhoods as (
            select identifier_type, identifier_value, count(*) as neighbour_count,
                bit_xor(hash(linked_identifier_type, linked_identifier_value)) as neighbour_fingerprint
            from directed_pairs
            group by identifier_type, identifier_value
        )
        select
            count(*),
            count(*) filter (where resolved.neighbour_count <> coalesce(neighbourhoods.neighbour_count, 0)
                or resolved.neighbour_fingerprint <> coalesce(neighbourhoods.neighbour_fingerprint, 0))
        from {RESOLVED} as resolved
        left join neighbourhoods
            on resolved.identifier_type = neighbourhoods.identifier_type
            and resolved.identifier_value = neighbourhoods.identifier_value
    """)
    assert compared > 0
    assert differing == 0, f"{differing} of {compared} stored fingerprints differ from the edges'"


def test_a_changed_fingerprint_relabels_the_whole_customer_to_the_same_rows(warehouse: dict) -> None:
    before = table_rows(warehouse)
    # A customer of several identifiers; its non-representative gets a stale fingerprint.
    [(customer_id, identifier_type, identifier_value)] = execute_sql(warehouse["database"], f"""
        select customer_id, identifier_type, min(identifier_value)
        from {RESOLVED}
        where customer_id in (select customer_id from {RESOLVED} group by customer_id having count(*) >= 3)
            and not is_representative
            and identifier_type = 'email'
        group by customer_id, identifier_type
        order by customer_id
        limit 1
    """)
    execute_sql(warehouse["database"], f"""
        update {RESOLVED} set neighbour_fingerprint = neighbour_fingerprint + 1, is_representative = true
        where identifier_type = ? and identifier_value = ?
    """, [identifier_type, identifier_value])
    # Also mark every other identifier of the customer, to see they are rewritten too.
    execute_sql(warehouse["database"], f"update {RESOLVED} set is_representative = not is_representative "
                                       f"where customer_id = ? and identifier_value <> ?",
                [customer_id, identifier_value])

    result = dbt_run(warehouse["env"])
    assert result.returncode == 0, result.stdout[-4000:]
    # Only relabelling the whole customer undoes the flipped flags of its other identifiers.
    assert table_rows(warehouse) == before


def test_a_table_without_fingerprints_asks_for_a_full_refresh(warehouse: dict) -> None:
    execute_sql(warehouse["database"], f"alter table {RESOLVED} drop column neighbour_fingerprint")
    without_fingerprints = table_rows(warehouse)

    result = dbt_run(warehouse["env"])
    assert result.returncode != 0
    assert FULL_REFRESH_HINT in result.stdout, result.stdout[-4000:]
    assert table_rows(warehouse) == without_fingerprints

    run([str(DBT), "run", "--quiet", "--full-refresh", "--select", "int_identifiers_resolved_to_customers",
         "--vars", json.dumps({"as_of": END_DATE.isoformat()})], warehouse["env"])
    [(fingerprints,)] = execute_sql(warehouse["database"], f"select count(neighbour_fingerprint) from {RESOLVED}")
    assert fingerprints == len(without_fingerprints)
    assert dbt_run(warehouse["env"]).returncode == 0
