"""Launching the Spark job. Locally it is a child process running ``python -m plugins.job`` in
Spark local mode; the job never imports Dagster, so the same arguments work under spark-submit
on EMR Serverless."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import deque
from pathlib import Path

import dagster as dg

REPO_ROOT = Path(__file__).resolve().parents[2]


class SparkJobError(RuntimeError):
    pass


class SparkJobResource(dg.ConfigurableResource):
    """Runs plugins/job.py with the given arguments and returns its JSON report. Which engine
    (local child process, EMR Serverless) is chosen once, in definitions.resources_for."""

    def run_job(
        self,
        job_args: list[str],
        log: dg.DagsterLogManager | None = None,
        context: dg.AssetExecutionContext | dg.OpExecutionContext | None = None,
    ) -> dict:  # pragma: no cover - interface
        raise NotImplementedError


class LocalSparkJobResource(SparkJobResource):
    master: str = "local[2]"
    # Small local batches: Spark's default of 200 shuffle partitions is pure overhead on 2 cores.
    shuffle_partitions: int = 4
    # Local mode keeps everything in the driver JVM; 1 GiB (Spark's default) is too small for
    # a day of a mid-sized app.
    driver_memory: str = "4g"

    def run_job(
        self,
        job_args: list[str],
        log: dg.DagsterLogManager | None = None,
        # Unused here; remote engines (EMR Serverless through Dagster Pipes) need it.
        context: dg.AssetExecutionContext | dg.OpExecutionContext | None = None,
    ) -> dict:
        with tempfile.TemporaryDirectory(prefix="clickstream-job-") as tmp:
            report_path = Path(tmp) / "report.json"
            command = [
                sys.executable, "-m", "plugins.job", *job_args,
                "--master", self.master,
                # A micro-batch's slice is a few files: every extra shuffle partition is a task
                # scheduled for nothing (9-file slices: dedup 9-10 s with 1, 12-21 s with 4).
                "--shuffle-partitions", "1" if "--only-new" in job_args else str(self.shuffle_partitions),
                "--driver-memory", self.driver_memory,
                "--report", str(report_path),
            ]  # fmt: skip
            env = {
                **os.environ,
                # Spark binds to the host's name otherwise, which may not resolve in containers.
                "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
                "PYSPARK_PYTHON": sys.executable,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            }
            if log:
                log.info("running: " + " ".join(command))
            tail: deque[str] = deque(maxlen=40)
            with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT) as process:
                assert process.stdout is not None
                for line in process.stdout:
                    tail.append(line.rstrip())
                    if log and ("ERROR" in line or "Exception" in line):
                        log.warning(line.rstrip())
                code = process.wait()
            if code != 0 or not report_path.exists():
                output = "\n".join(tail)
                raise SparkJobError(f"Spark job failed with exit code {code}; last output:\n{output}")
            return json.loads(report_path.read_text())
