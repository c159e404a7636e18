"""The queries docs/privacy.md gives a data protection officer run on a built warehouse.

Every statement of the page's `sql` blocks runs against the test warehouse that
`make test-build` builds before the pytest suites (fixed seed, so the customer and the
erasure request the page names exist there); the consent and erasure proofs return rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "privacy.md"
TEST_WAREHOUSE = REPO / "data" / "test" / "warehouse.duckdb"
SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.MULTILINE | re.DOTALL)


def statements() -> list[str]:
    found = []
    for block in SQL_BLOCK.findall(PAGE.read_text()):
        found += [statement.strip() for statement in block.split(";") if statement.strip()]
    return found


def test_the_page_has_the_proof_queries():
    text = " ".join(statements())
    for relation in ("marts.fct_consent_changes", "privacy.erasure_log", "privacy.erasure_actions",
                     "privacy.erasure_runs", "privacy.retention_purges"):
        assert relation in text, relation


@pytest.mark.skipif(not TEST_WAREHOUSE.exists(), reason="needs the warehouse `make test-build` builds")
@pytest.mark.parametrize("statement", statements())
def test_every_query_runs(statement):
    with duckdb.connect(str(TEST_WAREHOUSE), read_only=True) as con:
        rows = con.sql(statement).fetchall()
    if "fct_consent_changes" in statement or "erasure_log" in statement or "erasure_actions" in statement:
        assert rows, f"the page's example returns nothing:\n{statement}"
