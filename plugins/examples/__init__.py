"""Example plugins: templates for writing your own (see plugins/README.md).

- ``plugins.examples.currency.UsdValueEnrichment``: an enrichment with a dependency file.
- ``plugins.examples.cognito_sync.CognitoSyncTransformer``: a transformer for a third-party format.
"""

from __future__ import annotations

from pathlib import Path


def dependency_file(path: str, *, plugin: str, option: str) -> Path:
    """Where a plugin's dependency file is at run time.

    Locally the configured path is read in place. On a cluster (EMR Serverless) the files listed
    under ``files:`` are shipped with the job and land in the SparkFiles directory under their
    base name, so that is the second place looked at. Anything else is a configuration error,
    reported when the plugin is constructed, before any data is read.
    """
    local = Path(path)
    if local.is_file():
        return local
    shipped = _shipped_copy(local.name)
    if shipped is not None:
        return shipped
    raise ValueError(
        f"{plugin}: {option} file {path!r} not found (looked at {str(local.resolve())!r} and in the "
        f"job's shipped files as {local.name!r}); list it under 'files:' of this plugin in pipeline.processing"
    )


def _shipped_copy(basename: str) -> Path | None:
    from pyspark import SparkContext, SparkFiles

    # Without a running SparkContext there is no SparkFiles directory (e.g. constructing the
    # plugin in a unit test or a config check); that is simply "not shipped".
    if SparkContext._active_spark_context is None and SparkFiles._root_directory is None:
        return None
    candidate = Path(SparkFiles.get(basename))
    return candidate if candidate.is_file() else None
