"""The plugin interface, mirroring the product's: a plugin turns a DataFrame into a DataFrame.

Kinds: exactly one *transformer* runs first and maps decoded raw rows to ``ods_events``
columns; zero or more *enrichments* then fill or add columns. Plugins are pure: no session
creation, no I/O, no environment reads; the job runner owns reading and writing.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pyspark.sql import DataFrame

if TYPE_CHECKING:
    import pyarrow as pa

    from plugins.elements import Request


class Plugin:
    kind: ClassVar[str] = "enrichment"
    # Constructor keywords the job fills from the project configuration, each with the field
    # that sets it (``{"trusted_proxies": "pipeline.ingestion.trusted_proxies"}``): a fact of
    # the deployment that other parts of the platform use too, so never a plugin option.
    job_settings: ClassVar[dict[str, str]] = {}

    def transform(self, df: DataFrame) -> DataFrame:  # pragma: no cover - interface
        raise NotImplementedError


class Transformer(Plugin):
    kind: ClassVar[str] = "transformer"

    # What the cleaning step checks in every JSON-array element before transform() sees it;
    # an element lacking one is quarantined (missing_required_field). Defaults: the SDK format.
    required_fields: ClassVar[dict[str, str]] = {"$.event_id": "string", "$.app_id": "string", "$.timestamp": "bigint"}
    # Epoch ms the freshness window is measured on.
    timestamp_path: ClassVar[str] = "$.timestamp"
    # Where an element names its app; None for formats without one: the transformer's own
    # ``app_id`` (an option) is then the app of every element.
    app_id_path: ClassVar[str | None] = "$.app_id"
    app_id: str | None = None


class EventBatch:
    """Rows of ``ods_events`` being built in Python by an element transformer (see below)."""

    def add(self, element: Any, request: Request) -> None:  # pragma: no cover - interface
        """Map one cleaned JSON-array element (already parsed: dict, list, ...) of ``request``."""
        raise NotImplementedError

    def __len__(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def arrays(self) -> list[pa.Array]:  # pragma: no cover - interface
        """The 25 ``ods_events`` columns of the rows added, as Arrow arrays in contract order."""
        raise NotImplementedError


class ElementTransformer(Transformer):
    """A transformer written in plain Python, one parsed JSON element at a time.

    The job runs it inside its single Python pass, right after decoding and cleaning, so an
    element is parsed once and never goes through Spark's JSON functions: the built-in SDK
    transformer is one (about 10x faster than the same mapping in VARIANT expressions).
    Subclasses implement ``batch()``; ``transform(df)`` then also works on a DataFrame shaped
    like the cleaning output (``event`` as a VARIANT), like any other transformer.
    """

    def batch(self) -> EventBatch:  # pragma: no cover - interface
        raise NotImplementedError

    def transform(self, df: DataFrame) -> DataFrame:
        from plugins.passes import transform_cleaned

        return transform_cleaned(df, self)


class Enrichment(Plugin):
    kind: ClassVar[str] = "enrichment"


class ElementEnrichment(Enrichment):
    """An enrichment that can also run inside the job's Python pass, on Arrow batches of events
    (the ``ods_events`` columns plus ``CONTEXT_COLUMNS``), right after an element transformer.

    The job fuses the leading element enrichments of the configured list into the pass, which
    saves a scan of all events per enrichment and a join; ``transform(df)`` remains the
    DataFrame form (used after a DataFrame transformer or enrichment) and must give the same
    rows. Look values up once per distinct input (memoised per worker process), not per row.
    """

    def enrich_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:  # pragma: no cover - interface
        raise NotImplementedError


def load_plugin(dotted_name: str, expected_kind: str, /, *, job_settings: Mapping[str, object] | None = None, **options: object) -> Plugin:
    """Instantiate ``package.module.ClassName`` with its ``options`` and, of ``job_settings``,
    those its class declares; the kind is checked so a misplaced entry in the pipeline
    configuration fails before any data is read."""
    module_name, _, class_name = dotted_name.rpartition(".")
    if not module_name:
        raise ValueError(f"plugin {dotted_name!r}: expected a dotted name like 'package.module.ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"plugin {dotted_name!r}: cannot import {module_name!r}: {error}") from None
    try:
        plugin_class = getattr(module, class_name)
    except AttributeError:
        raise ValueError(f"plugin {dotted_name!r}: module {module_name!r} has no {class_name!r}") from None
    declared: dict[str, str] = getattr(plugin_class, "job_settings", {})
    if given := sorted(options.keys() & declared.keys()):
        name, flag = given[0], "--" + given[0].replace("_", "-")
        raise ValueError(f"plugin {dotted_name!r}: {name!r} is not an option; set {declared[name]} (the job's {flag}) instead")
    settings = {name: value for name, value in (job_settings or {}).items() if name in declared}
    plugin = plugin_class(**options, **settings)
    if not isinstance(plugin, Plugin) or plugin.kind != expected_kind:
        raise ValueError(f"plugin {dotted_name!r} is not a {expected_kind} plugin")
    return plugin
