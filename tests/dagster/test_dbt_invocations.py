"""Target directories of dbt invocations: removed after success, kept (a few) after failure,
and the partial parse handed from one invocation of a kind to the next."""

import os
import time

import pytest

from clickstream_dagster.modeling.invocations import PARTIAL_PARSE, dbt_target_dir, invocations_root, partial_parse_cache


def test_a_successful_invocation_leaves_only_its_partial_parse(tmp_path):
    with dbt_target_dir(tmp_path, "build-shop_web") as target:
        assert target.parent == invocations_root(tmp_path) and not (target / PARTIAL_PARSE).exists()
        (target / "manifest.json").write_text("{}")
        (target / PARTIAL_PARSE).write_bytes(b"parsed with shop_web's vars")
    assert not target.exists()
    assert partial_parse_cache(tmp_path, "build-shop_web").read_bytes() == b"parsed with shop_web's vars"

    # The next invocation of the same kind starts from it; another kind does not.
    with dbt_target_dir(tmp_path, "build-shop_web") as target:
        assert (target / PARTIAL_PARSE).read_bytes() == b"parsed with shop_web's vars"
        (target / PARTIAL_PARSE).write_bytes(b"newer")
    with dbt_target_dir(tmp_path, "build-shop_ios") as other:
        assert not (other / PARTIAL_PARSE).exists()
    assert partial_parse_cache(tmp_path, "build-shop_web").read_bytes() == b"newer"
    assert list(invocations_root(tmp_path).iterdir()) == []


def test_a_failed_invocation_is_kept_for_its_log_and_its_parse_not_cached(tmp_path):
    with pytest.raises(RuntimeError), dbt_target_dir(tmp_path, "build-shop_web") as target:
        (target / "dbt.log").write_text("Database Error")
        (target / PARTIAL_PARSE).write_bytes(b"from a failed run")
        raise RuntimeError("dbt build failed")
    assert (target / "dbt.log").read_text() == "Database Error"
    assert not partial_parse_cache(tmp_path, "build-shop_web").exists()


def test_only_the_newest_failed_invocations_are_kept(tmp_path):
    root = invocations_root(tmp_path)
    for index in range(25):
        old = root / f"build-x-{index:02d}"
        old.mkdir(parents=True)
        stamp = time.time() - 1000 + index
        os.utime(old, (stamp, stamp))
    with dbt_target_dir(tmp_path, "build-x"):
        pass
    left = sorted(p.name for p in root.iterdir())
    assert left == [f"build-x-{index:02d}" for index in range(5, 25)]


def test_the_dbt_resource_starts_dbt_without_probing_it_first(monkeypatch):
    """No `dbt --version` subprocess and no in-process adapter before each invocation (~5 s a
    build): the version is the installed dbt-core's, beside this interpreter."""
    from importlib.metadata import version

    import dagster_dbt.core.resource as dbt_resource_module

    from clickstream_dagster.modeling.dbt_resource import ClickstreamDbtResource
    from clickstream_dagster.modeling.project import dbt_executable, dbt_project

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"unexpected subprocess: {args}")

    monkeypatch.setattr(dbt_resource_module, "check_output", no_subprocess)
    resource = ClickstreamDbtResource(project_dir=dbt_project(), dbt_executable=dbt_executable())
    assert str(resource._cli_version) == version("dbt-core")
    assert resource._initialize_dbt_core_adapter(["build"]) is None
