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


def test_vars_name_the_app_the_parquet_the_projects_data_range_and_a_cognito_source(tmp_path):
    config = make_config(
        tmp_path,
        apps=[{"app_id": "shop_web", "name": "Web", "platforms": ["Web"]}, {"app_id": "prefs", "name": "Prefs", "platforms": ["Web"]}],
        pipeline={
            "modeling": {"data_range_days": 30},
            "sources": [{"type": "cognito_streams", "name": "pool", "app_id": "prefs", "stream_name": "cognito-sync"}],
        },
    )
    common = {"ods_root": str(config.ods_root), "data_range_days": 30}
    assert dbt_vars("shop_web", config) == {"app_id": "shop_web", **common, "cognito_streams": False}
    assert dbt_vars("prefs", config) == {"app_id": "prefs", **common, "cognito_streams": True}
