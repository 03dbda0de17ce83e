"""CPU seconds per million events of each step of the job's Python pass, measured in-process.

    .venv/bin/python bench/process/profile_pass.py LAKE_DIR [--files 4] [--geo geo.mmdb]

LAKE_DIR is a raw lake as bench/process/run.py writes it (``--keep DIR`` keeps it in DIR/lake).
Each step runs on its own over the same records, timed with ``time.process_time`` (CPU of this
process only, so the figures hold on a shared machine): read + gunzip (Python's gzip; Spark reads
with Hadoop's codec in the JVM), record JSON, body base64 + gunzip, body JSON, element checks,
the SDK transformer (``add`` and the Arrow conversion), the UA and IP enrichments, then the whole
pass as the job runs it (its remainder over the steps is the pass's own bookkeeping). The Spark
steps (dedup, Parquet write) are the run report's, in bench/process/run.py's step_cpu_seconds.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import sys
import time
from pathlib import Path

import pyarrow as pa

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))


def main() -> int:
    from clickstream_contract.request_body import parse_json
    from plugins.elements import Rules, decode_body, elements_of, request_of
    from plugins.enrich_ip import IpEnrichment
    from plugins.enrich_ua import UserAgentEnrichment, _parser
    from plugins.passes import EVENTS_PER_BATCH, run_pass
    from plugins.sdk_transformer import SdkTransformer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lake", type=Path)
    parser.add_argument("--files", type=int, default=4, help="raw files to read (50k events each in the benchmark's lake)")
    parser.add_argument("--geo", type=Path, help="the .mmdb for the IP enrichment (default: LAKE/../geo.mmdb)")
    args = parser.parse_args()
    files = sorted(args.lake.rglob("*.gz"))[: args.files]
    geo = args.geo or args.lake.parent / "geo.mmdb"

    # As in the pass (plugins/passes.py): the cyclic collector would rescan millions of objects.
    gc.disable()
    cpu: dict[str, float] = {}

    def timed(step, work):
        start = time.process_time()
        result = work()
        cpu[step] = cpu.get(step, 0.0) + time.process_time() - start
        return result

    lines = timed("read_gunzip", lambda: [line for path in files for line in gzip.open(path, "rt").read().splitlines()])
    records = timed("record_json", lambda: [parse_json(line) for line in lines])
    requests = [request_of(record, "2026112112") for record in records]
    bodies = timed("body_base64_gunzip", lambda: [decode_body(r.get("data"), r.get("compression")) for r in records])
    timed("body_json", lambda: [parse_json(body) for body in bodies])
    parsed = [elements_of(record)[0] for record in records]
    transformer = SdkTransformer("bench")
    rules = Rules.of(transformer, ["shop_android", "shop_ios", "shop_web"])
    pairs = [(element, request) for elements, request in zip(parsed, requests) for element in elements]
    events = len(pairs)
    timed("check", lambda: [rules.check(element, request.ingest_time) for element, request in pairs])

    # One-off costs a worker pays once, not per event: pyarrow's lazy imports on the first
    # conversion, building the UA parser.
    warm_up = transformer.batch()
    warm_up.add(*pairs[0])
    warm_up.arrays()
    _parser()
    batches = []
    for start in range(0, events, EVENTS_PER_BATCH):
        batch = transformer.batch()
        timed("transform_add", lambda batch=batch, start=start: [batch.add(e, r) for e, r in pairs[start : start + EVENTS_PER_BATCH]])
        batches.append(timed("transform_arrow", batch.arrays))
    ua, ip = UserAgentEnrichment(), IpEnrichment(str(geo))
    hours = pa.array(["2026112112"] * len(lines), pa.string())
    raw = pa.RecordBatch.from_arrays([pa.array(lines, pa.string()), hours], names=["value", "ingest_hour"])
    # The whole pass without enrichments, then each enrichment on the pass's own event batches.
    output = timed("whole_pass_without_enrichment", lambda: list(run_pass(iter([raw]), rules, transformer)))
    event_batches = [batch for batch in output if batch.num_rows and batch.column("_kind")[0].as_py() == "event"]
    timed("ua_enrich", lambda: [ua.enrich_batch(batch) for batch in event_batches])
    timed("ip_enrich", lambda: [ip.enrich_batch(batch) for batch in event_batches])

    steps = ["read_gunzip", "record_json", "body_base64_gunzip", "body_json", "check", "transform_add", "transform_arrow"]
    per_million = {step: round(seconds * 1_000_000 / events, 2) for step, seconds in cpu.items()}
    per_million["pass_bookkeeping"] = round(per_million["whole_pass_without_enrichment"] - sum(per_million[step] for step in steps[1:]), 2)
    print(json.dumps({"events": events, "requests": len(lines), "cpu_seconds_per_million_events": per_million}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
