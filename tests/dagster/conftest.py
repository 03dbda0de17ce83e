from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from clickstream_project.config import CONFIG_ENV_VAR, save_config
from tests.conftest import make_config


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "clickstream.yaml"
    save_config(make_config(tmp_path), path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    return path


# The raw lake's and the ods output's bucket in the moto-backed tests.
LAKE_BUCKET = "clickstream-lake"


@pytest.fixture
def s3(monkeypatch):
    """An S3 client on moto's in-memory S3 (no network), with the lake bucket created."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=LAKE_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client
