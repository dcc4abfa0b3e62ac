"""SQL of the lineage package: rewriting a training table for ablation re-runs.

Profiles of data versions reuse the builders of `workbench.data.queries` over a view named
`reference`; the only SQL of its own the lineage needs is here, built the same way: identifiers
checked against the real schema and quoted, every value a named parameter. Both tables are
views registered by the caller: `source` (the data being rewritten) and, for swaps, `donor`.
"""

from __future__ import annotations

from workbench.data.queries import Sql
from workbench.data.schema import check_column


def constant_column(schema: dict[str, str], column: str) -> Sql:
    """`source` with one column replaced everywhere by its most frequent value.

    A constant carries no information, so a model trained on it cannot use the feature: the
    data-level form of dropping a feature, for pipelines that cannot leave a feature out.
    """
    col = check_column(column, schema, "ablated feature", "the training data",
                       fix="Choose a column of the training data.")
    q = Sql()
    q.parts.append(
        f"SELECT * REPLACE ((SELECT {col} FROM source WHERE {col} IS NOT NULL GROUP BY 1 "
        f"ORDER BY count(*) DESC, 1 LIMIT 1) AS {col}) FROM source"
    )
    return q


def swap_column(schema: dict[str, str], donor_schema: dict[str, str], column: str,
                key: str) -> Sql:
    """`source` with one column's values taken from `donor` where the key matches.

    Rows the donor lacks keep their own value; duplicate keys in the donor take one value.
    """
    col = check_column(column, schema, "swapped column", "the bad run's data",
                       fix="Choose a column present in both data versions.")
    check_column(column, donor_schema, "swapped column", "the good run's data",
                 fix="Choose a column present in both data versions.")
    k = check_column(key, schema, "row key", "the bad run's data",
                     fix="Pass --key naming a column that identifies rows in both versions.")
    check_column(key, donor_schema, "row key", "the good run's data",
                 fix="Pass --key naming a column that identifies rows in both versions.")
    q = Sql()
    q.parts.append(
        f"SELECT s.* REPLACE (CASE WHEN d._wb_key IS NULL THEN s.{col} ELSE d._wb_value END "
        f"AS {col}) FROM source AS s LEFT JOIN (SELECT {k} AS _wb_key, any_value({col}) AS "
        f"_wb_value FROM donor GROUP BY 1) AS d ON s.{k} = d._wb_key"
    )
    return q
