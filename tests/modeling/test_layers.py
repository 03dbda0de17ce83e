"""dbt models flow one way: staging → base → intermediate → marts (dbt_project/models/<layer>/).
Only staging reads sources; every other model reads its own layer or earlier ones."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

from tests.modeling.dbt_runner import dbt

LAYERS = ["staging", "base", "intermediate", "marts"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    work_dir = tmp_path_factory.mktemp("parse")
    dbt(["parse"], work_dir, {"app_id": "shop_web"}, env={"CLICKSTREAM_DUCKDB_PATH": str(work_dir / "warehouse.duckdb")})
    return json.loads((work_dir / "target" / "manifest.json").read_text())


def layer(node: dict) -> str:
    return PurePosixPath(node["original_file_path"]).parts[1]  # models/<layer>/<model>.sql


def models(manifest: dict) -> list[dict]:
    return [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]


def test_every_model_sits_in_a_layer(manifest):
    assert {node["name"]: layer(node) for node in models(manifest) if layer(node) not in LAYERS} == {}


def test_models_read_only_their_own_or_earlier_layers(manifest):
    backwards = []
    for node in models(manifest):
        for parent_id in node["depends_on"]["nodes"]:
            if parent_id.startswith("source."):
                parent_layer = "source"
                allowed = layer(node) == "staging"
            else:
                parent = manifest["nodes"][parent_id]
                parent_layer = layer(parent)
                allowed = LAYERS.index(parent_layer) <= LAYERS.index(layer(node))
            if not allowed:
                backwards.append(f"{layer(node)}/{node['name']} reads {parent_layer}/{parent_id.split('.')[-1]}")
    assert backwards == []
