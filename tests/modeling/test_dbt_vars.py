"""The dbt project's vars: every knob it declares is read, and Dagster passes each app's."""

import re

import yaml

from clickstream_dagster.modeling.assets import dbt_vars
from tests.conftest import make_config
from tests.modeling.dbt_runner import DBT_PROJECT


def test_every_declared_var_is_read():
    """A var in dbt_project.yml that no model, macro or test reads is a knob that turns nothing."""
    declared = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    names = {name for name in declared if name != "clickstream"} | set(declared["clickstream"])
    sql = "\n".join(path.read_text() for folder in ("models", "macros", "tests") for path in (DBT_PROJECT / folder).rglob("*.sql"))
    read = set(re.findall(r"""\bvar\(\s*['"](\w+)['"]""", sql))
    assert names - read == set()


def test_vars_name_the_app_the_parquet_and_the_projects_data_range(tmp_path):
    config = make_config(tmp_path, pipeline={"modeling": {"data_range_days": 30}})
    assert dbt_vars("shop_web", str(config.ods_root), config.pipeline.modeling.data_range_days) == {
        "app_id": "shop_web",
        "ods_root": str(config.ods_root),
        "data_range_days": 30,
    }
