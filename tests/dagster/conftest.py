from pathlib import Path

import pytest

from clickstream_dagster.config import CONFIG_ENV_VAR, save_config
from tests.conftest import make_config


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "clickstream.yaml"
    save_config(make_config(tmp_path), path)
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    return path
