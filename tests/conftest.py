"""Shared fixtures: a small project configuration rooted in a temporary directory."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from clickstream_project.config import ProjectConfig, parse_config

REPO_ROOT = Path(__file__).resolve().parents[1]
# Copies of shared/data/sdk-samples, so the tests do not depend on where the clone lives.
SDK_SAMPLES = REPO_ROOT / "tests" / "fixtures" / "sdk-samples"


def free_port() -> int:
    """A loopback port nothing listens on now (to serve on, or to be refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_config(base_dir: Path, **overrides) -> ProjectConfig:
    data = {
        "project_id": "test_project",
        "data_dir": "var",
        "apps": [
            {"app_id": "shop_android", "name": "Shop Android", "platforms": ["Android"], "package_name": "com.example.shop"},
            {"app_id": "shop_ios", "name": "Shop iOS", "platforms": ["iOS"], "package_name": "com.example.shop.ios"},
            {"app_id": "shop_web", "name": "Shop Web", "platforms": ["Web"]},
        ],
        "pipeline": {"ingestion": {"cors_origins": ["http://localhost:*"]}},
    }
    data.update(overrides)
    return parse_config(data, base_dir=base_dir)


@pytest.fixture
def project_config(tmp_path: Path) -> ProjectConfig:
    return make_config(tmp_path)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole run (a JVM start costs ~5 s): UTC, one shuffle
    partition, UI off."""
    import os
    import sys

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("clickstream-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.hadoop.fs.file.impl", "org.apache.hadoop.fs.RawLocalFileSystem")
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
