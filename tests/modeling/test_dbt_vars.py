"""The vars Dagster passes to each app's dbt build."""

from clickstream_dagster.modeling.assets import dbt_vars
from tests.conftest import make_config


def test_vars_name_the_app_the_parquet_and_the_projects_data_range(tmp_path):
    config = make_config(tmp_path, pipeline={"modeling": {"data_range_days": 30}})
    assert dbt_vars("shop_web", str(config.ods_root), config.pipeline.modeling.data_range_days) == {
        "app_id": "shop_web",
        "ods_root": str(config.ods_root),
        "data_range_days": 30,
    }
