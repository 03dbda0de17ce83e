"""User-Agent enrichment: fills the ``device.ua_*`` fields of ``ods_events`` from ``_ua``.

Parsing is the one step here that needs Python (ua-parser's regexes). A batch has far fewer
distinct User-Agents than events, so each distinct value is parsed once on the executors and the
result is joined back, instead of calling a UDF per row.

Rules (DATA_CONTRACT §4 and plugins/ENRICHMENT.md):

- ``ua_browser`` / ``ua_os`` / ``ua_device`` are ua-parser's families; a part ua-parser does not
  recognise is null (not ua-parser's placeholder ``"Other"``).
- Versions are ``major.minor.patch`` as parsed: the parts that exist, joined with dots, stopping
  at the first missing one ("16.4" when there is no patch); null without a major. The fourth
  part (``patch_minor``) is dropped.
- ``ua_device_category`` is always filled, by the first rule that matches: ``bot``, ``tablet``,
  ``mobile``, ``desktop``, else ``other`` (null or empty User-Agent included).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from plugins.arrow_columns import distinct_mapped, with_struct_fields
from plugins.base import ElementEnrichment

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from ua_parser import Parser, Result

UA_FIELDS = ["ua_browser", "ua_browser_version", "ua_os", "ua_os_version", "ua_device", "ua_device_category"]
# The lookup table: the key, then each ua_* value under a "_" name so the join is unambiguous.
LOOKUP_SCHEMA = T.StructType([T.StructField(name, T.StringType()) for name in ["_ua", *[f"_{f}" for f in UA_FIELDS]]])

# Self-declared crawlers whose device ua-parser does not report as "Spider" (its catch-all for bots).
BOT_FAMILY = re.compile(r"bot|crawl|spider|slurp|scrape|fetcher|preview|monitor|lighthouse|headless", re.IGNORECASE)
# Televisions and consoles run Linux, Tizen or webOS; they are "other", not desktop or mobile.
TV_OR_CONSOLE = re.compile(
    r"smart-?tv|\btv\b|appletv|googletv|crkey|chromecast|web0s|netcast|hbbtv|roku|playstation|xbox|nintendo", re.IGNORECASE
)
TABLET_DEVICES = re.compile(r"ipad|kindle|tablet|\btab\b|playbook|nexus (7|9|10)|xoom", re.IGNORECASE)
MOBILE_OS = {"iOS", "Android", "Windows Phone", "BlackBerry OS", "BlackBerry Tablet OS", "KaiOS", "Symbian OS",
             "Firefox OS", "HarmonyOS", "webOS", "Tizen", "Sailfish", "Ubuntu Touch"}  # fmt: skip
MOBILE_DEVICES = re.compile(r"iphone|ipod|mobile|phone", re.IGNORECASE)
DESKTOP_OS = {"Windows", "Mac OS X", "macOS", "Linux", "Chrome OS", "Ubuntu", "Fedora", "Debian", "Red Hat",
              "FreeBSD", "OpenBSD", "NetBSD", "Solaris", "Mandriva", "Gentoo", "Kubuntu", "Mint", "SUSE"}  # fmt: skip


@functools.cache
def _parser() -> Parser:
    """One parser per Python worker process (0.1-0.25 s to build). The Rust resolver
    (ua-parser-rs) parses 20 000-80 000 distinct strings/s depending on the mix, the pure-Python
    one ~2 000/s. No result cache: every string reaching it is distinct."""
    from ua_parser import BasicResolver, Parser, RegexResolver, load_builtins, load_lazy_builtins

    if RegexResolver is not None:
        return Parser(RegexResolver(load_lazy_builtins()))
    return Parser(BasicResolver(load_builtins()))


def version(*parts: str | None) -> str | None:
    present: list[str] = []
    for part in parts:
        if part is None or part == "":
            break
        present.append(part)
    return ".".join(present) or None


def device_category(ua: str | None, result: Result | None) -> str:
    if not ua or result is None:
        return "other"
    browser = result.user_agent.family if result.user_agent else ""
    os = result.os.family if result.os else ""
    device = result.device.family if result.device else ""
    brand = (result.device.brand or "") if result.device else ""
    if device == "Spider" or BOT_FAMILY.search(browser):
        return "bot"
    if TV_OR_CONSOLE.search(ua) or TV_OR_CONSOLE.search(device):
        return "other"
    # Android tablets: ua-parser's "Generic_Android_Tablet" brand, known tablet families, or a
    # browser UA without the "Mobile" token (Google's convention: tablets omit it). App UAs
    # (Dalvik, okhttp) also lack it, hence the "Mozilla/" guard.
    if TABLET_DEVICES.search(device) or brand == "Generic_Android_Tablet":
        return "tablet"
    if os == "Android" and ua.startswith("Mozilla/") and "Mobile" not in ua:
        return "tablet"
    if os in MOBILE_OS or MOBILE_DEVICES.search(device) or "Mobile" in browser:
        return "mobile"
    if os in DESKTOP_OS:
        return "desktop"
    return "other"


def _family(part: object) -> str | None:
    family = getattr(part, "family", None)
    return None if family in (None, "", "Other") else family


def describe(ua: str | None) -> tuple[str | None, ...]:
    """The ``ua_*`` values of one User-Agent, in ``UA_FIELDS`` order."""
    result = _parser().parse(ua) if ua else None
    browser = result.user_agent if result else None
    os = result.os if result else None
    return (
        _family(browser),
        version(browser.major, browser.minor, browser.patch) if browser else None,
        _family(os),
        version(os.major, os.minor, os.patch) if os else None,
        _family(result.device if result else None),
        device_category(ua, result),
    )


@functools.lru_cache(maxsize=100_000)
def _describe_once(ua: str) -> tuple[str | None, ...]:
    """Each distinct User-Agent is parsed once per worker process; batches repeat them a lot."""
    return describe(ua)


def _lookup_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    import pandas as pd

    for batch in batches:
        rows = [(ua, *describe(ua)) for ua in batch["_ua"]]
        yield pd.DataFrame(rows, columns=LOOKUP_SCHEMA.fieldNames())


class UserAgentEnrichment(ElementEnrichment):
    """Fills ``device.ua_*`` from the ``_ua`` context column; no options."""

    def enrich_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = distinct_mapped(batch.column("_ua"), lambda ua: _describe_once(ua) if ua else describe(None), len(UA_FIELDS))
        return with_struct_fields(batch, "device", dict(zip(UA_FIELDS, columns)))

    def lookups(self, df: DataFrame) -> DataFrame:
        """One row per distinct non-empty ``_ua``: the only rows the parser sees."""
        distinct = df.select("_ua").where(F.col("_ua").isNotNull() & (F.col("_ua") != "")).distinct()
        return distinct.mapInPandas(_lookup_batches, schema=LOOKUP_SCHEMA)

    def transform(self, df: DataFrame) -> DataFrame:
        # A left join keeps every event: a null or empty _ua has no lookup row and ends up with
        # null fields and the "other" category. Distinct UAs are few (thousands for millions
        # of events): broadcasting them keeps the wide event rows where they are instead of
        # shuffling them for a sort-merge join.
        joined = df.join(F.broadcast(self.lookups(df)), on="_ua", how="left")
        values = {name: F.col(f"_{name}") for name in UA_FIELDS}
        values["ua_device_category"] = F.coalesce(values["ua_device_category"], F.lit("other"))
        device = F.col("device")
        for name, value in values.items():
            device = device.withField(name, value)
        return joined.withColumn("device", device).select(*df.columns)
