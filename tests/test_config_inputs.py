"""Config values that end up in SQL, schema names, lake keys and file names (issue 11,
items 9-11): refused at load time with the field named, never later in the warehouse or the
ingestion server."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream_project.config import ConfigError, new_app
from clickstream_project.warehouse_names import RESERVED_SCHEMA_NAMES, RESERVED_SQL_KEYWORDS
from tests.conftest import make_config

EMR = {
    "application_id": "00fm4oe0607u5a1d",
    "execution_role_arn": "arn:aws:iam::123456789012:role/emr",
    "artifacts_uri": "s3://my-bucket/emr/",
    "raw_uri": "s3://my-bucket/raw",
    "ods_uri": "s3://my-bucket/ods",
}


def emr(**changes: str) -> dict:
    # Firehose delivers the raw lake (raw_uri); EMR cannot read a local sink's lake.
    return {
        "sink": {"type": "kinesis", "kinesis": {"stream_name": "s"}},
        "processing": {"engine": "emr_serverless", "emr_serverless": {**EMR, **changes}},
    }


# Item 9: URIs and paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("s3://my-bucket/ods\x00x", "control character"),
        ("s3://my-bucket/ods\x1b[2J", "control character"),
        ("s3://my-bucket/od\x7fs", "control character"),
        ("s3://my..bucket/ods", "bucket"),
        ("s3://192.168.1.10/ods", "bucket"),
        ("s3://xn--bucket/ods", "bucket"),
        ("s3://My-Bucket/ods", "bucket"),
        ("s3://ab/ods", "bucket"),
        ("s3://my-bucket-/ods", "bucket"),
    ],
)
def test_bad_s3_uris_are_refused_naming_the_field(tmp_path: Path, uri: str, why: str):
    with pytest.raises(ConfigError) as error:
        make_config(tmp_path, pipeline=emr(ods_uri=uri))
    message = str(error.value)
    assert "pipeline.processing.emr_serverless.ods_uri" in message
    assert why in message


def test_an_s3_uri_may_hold_quotes_and_backslashes(tmp_path: Path):
    """S3 keys may contain any UTF-8 character; the SQL layer quotes them (macros/sql_string.sql)."""
    uri = "s3://my-bucket/it's\\b/ods"
    assert make_config(tmp_path, pipeline=emr(ods_uri=uri)).pipeline.processing.emr_serverless.ods_uri == uri


@pytest.mark.parametrize(
    ("pipeline", "field"),
    [
        ({"processing": {"ods_path": "ods\x00"}}, "pipeline.processing.ods_path"),
        ({"modeling": {"duckdb_path": "wh\n.duckdb"}}, "pipeline.modeling.duckdb_path"),
        ({"sink": {"path": "lake\r"}}, "pipeline.sink.path"),
        ({"ingestion": {"spool_dir": "spo\tol"}}, "pipeline.ingestion.spool_dir"),
    ],
)
def test_local_paths_with_control_characters_are_refused(tmp_path: Path, pipeline: dict, field: str):
    with pytest.raises(ConfigError) as error:
        make_config(tmp_path, pipeline=pipeline)
    assert f"{field}: Value error, must not contain control characters" in str(error.value)


def test_local_paths_may_hold_quotes(tmp_path: Path):
    config = make_config(tmp_path, data_dir="it's x'||'y", pipeline={"processing": {"ods_path": "o'ds"}})
    assert config.ods_root == tmp_path / "it's x'||'y" / "o'ds"


# Item 10: app ids that are warehouse names -------------------------------------------------


REFUSED_APP_IDS = [*sorted(RESERVED_SCHEMA_NAMES | RESERVED_SQL_KEYWORDS), "pg_toast", "PG_Anything", "Information_Schema", "SELECT"]


def test_the_reserved_lists_hold_the_names_that_broke_the_warehouse():
    assert {"information_schema", "temp", "main", "pg_catalog", "system", "public", "default"} <= RESERVED_SCHEMA_NAMES
    assert {"select", "table", "user", "order", "group"} <= RESERVED_SQL_KEYWORDS


@pytest.mark.parametrize("app_id", REFUSED_APP_IDS)
def test_reserved_app_ids_are_refused_in_the_config_file(tmp_path: Path, app_id: str):
    with pytest.raises(ConfigError) as error:
        make_config(tmp_path, apps=[{"app_id": app_id, "name": "x", "platforms": ["Web"]}])
    assert f"apps.0.app_id: Value error, {app_id!r} is reserved" in str(error.value)


@pytest.mark.parametrize("app_id", ["temp", "information_schema", "select", "pg_stats", "clickstream_ods"])
def test_reserved_app_ids_are_refused_at_registration(app_id: str):
    with pytest.raises(ConfigError, match=rf"app_id: Value error, '{app_id}' is reserved"):
        new_app(app_id=app_id, name="x", platforms=["Web"])


@pytest.mark.parametrize("app_id", ["shop_web", "temperature", "mainline", "users", "selection", "Shop2"])
def test_ordinary_app_ids_still_register(app_id: str):
    assert new_app(app_id=app_id, name="x", platforms=["Web"]).app_id == app_id


# Item 11: the sink prefix -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        ("{project_id:.<2.0}/", "no format spec"),
        ("{0}/", "only {project_id}"),
        ("{}/", "only {project_id}"),
        ("{project_id!r}/", "no conversion"),
        ("{other}/", "only {project_id}"),
        ("{project_id.real}/", "only {project_id}"),
        ("{project_id[0]}/", "only {project_id}"),
        ("{project_id/", "not a valid template"),
        ("/abs/", "relative"),
        ("a/../b/", "'..'"),
        ("a/./b/", "'.'"),
        ("a//b/", "empty"),
        ("a/b", "ending with '/'"),
    ],
)
def test_unsafe_sink_prefixes_are_refused(tmp_path: Path, prefix: str, why: str):
    with pytest.raises(ConfigError) as error:
        make_config(tmp_path, pipeline={"sink": {"prefix": prefix}})
    message = str(error.value)
    assert "pipeline.sink.prefix" in message and why in message, message


@pytest.mark.parametrize(
    ("prefix", "rendered"),
    [
        ("clickstream/{project_id}/data/buffer/", "clickstream/test_project/data/buffer/"),
        ("", ""),
        ("raw/", "raw/"),
        ("{project_id}/{{literal}}/", "test_project/{literal}/"),
    ],
)
def test_good_sink_prefixes_render(tmp_path: Path, prefix: str, rendered: str):
    config = make_config(tmp_path, pipeline={"sink": {"prefix": prefix}})
    assert config.raw_prefix == rendered
