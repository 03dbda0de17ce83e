"""The dbt docs (models/**/*.yml, models/_column_docs.md) match what the models build on DuckDB.

dagster-dbt shows each model's documented columns, types and descriptions in the asset
catalog (on Redshift and Athena the documented data_type is the only type it shows), so docs
that drift from the SQL show users columns that do not exist or wrong types. Public models
(access: public: the product's objects and ods_events) document every column; any model's
documented column exists with the type DuckDB reports and has a description.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.modeling.dbt_runner import dbt
from tests.modeling.ods_files import write_ods_events
from tests.modeling.test_layers import layer, models
from tests.modeling.test_views_expected import APP, RUNS


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[list[dict], dict[str, dict[str, str]]]:
    """The manifest's models, and each relation's built columns with their types (column order
    kept), after one `dbt run` over every fixture event (~15 s; types do not need the tests)."""
    work_dir = tmp_path_factory.mktemp("docs")
    write_ods_events(work_dir / "ods", APP, [event for run in RUNS for event in run])
    database = work_dir / "warehouse.duckdb"
    dbt(["run"], work_dir, {"app_id": APP, "ods_root": str(work_dir / "ods")}, env={"CLICKSTREAM_DUCKDB_PATH": str(database)})
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text())
    # The query the Dagster catalog reads types with (clickstream_dagster/modeling/warehouses.py).
    query = (
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position"
    )
    built: dict[str, dict[str, str]] = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        for relation, column, data_type in connection.execute(query, [APP]).fetchall():
            built.setdefault(relation, {})[column] = data_type
    return models(manifest), built


def public(nodes: list[dict]) -> list[dict]:
    return [node for node in nodes if node["access"] == "public"]


def test_the_products_objects_are_public(project):
    nodes, _ = project
    expected = sorted(node["name"] for node in nodes if layer(node) == "marts" or node["name"] == "ods_events")
    assert sorted(node["name"] for node in public(nodes)) == expected


def test_every_model_is_built(project):
    nodes, built = project
    assert sorted(node["name"] for node in nodes if node["name"] not in built) == []


def test_public_models_document_every_column_they_build(project):
    nodes, built = project
    drift = {}
    for node in public(nodes):
        documented, columns = set(node["columns"]), set(built[node["name"]])
        if documented != columns:
            drift[node["name"]] = {"undocumented": sorted(columns - documented), "not built": sorted(documented - columns)}
    assert drift == {}


def test_documented_columns_exist_with_duckdbs_type(project):
    nodes, built = project
    wrong = {
        f"{node['name']}.{name}": (column["data_type"], built[node["name"]].get(name, "not built"))
        for node in nodes
        for name, column in node["columns"].items()
        if column["data_type"] != built[node["name"]].get(name, "not built")
    }
    assert wrong == {}


def test_models_and_documented_columns_have_descriptions(project):
    nodes, _ = project
    missing = [node["name"] for node in nodes if not node["description"].strip()]
    missing += [f"{node['name']}.{name}" for node in nodes for name, column in node["columns"].items() if not column["description"].strip()]
    assert missing == []
