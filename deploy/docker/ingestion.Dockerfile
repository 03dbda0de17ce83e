# The ingestion service: Flask under gunicorn, the local spool and the sink shipper.
# Build from the repository root:
#   docker build -f deploy/docker/ingestion.Dockerfile -t clickstream-ingestion .
# Only what the service imports is installed (no Dagster, Spark or dbt): ~150 MB instead of ~1.5 GB.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Versions come from the lock file (as constraints), so the image runs what the tests ran.
COPY requirements.lock ./
RUN pip install -c requirements.lock \
        flask gunicorn orjson prometheus-client "pyjwt[crypto]" boto3 confluent-kafka pydantic pyyaml requests

COPY pyproject.toml README.md ./
# The service and what it imports: the project model, the rules it shares with processing, and
# the command line (the entrypoint). No Dagster and no Spark job.
COPY clickstream_contract/ clickstream_contract/
COPY clickstream_project/ clickstream_project/
COPY clickstream_tools/ clickstream_tools/
COPY ingestion/ ingestion/
RUN pip install --no-deps .

# The spool must survive a restart of the container: mount a volume here (an EBS/EFS volume on
# ECS, a PersistentVolumeClaim on Kubernetes). Acknowledged events live here until shipped.
RUN useradd --system --uid 10001 clickstream && mkdir -p /var/lib/clickstream && chown clickstream /var/lib/clickstream
VOLUME /var/lib/clickstream
USER clickstream

# The project configuration is mounted (a ConfigMap, an ECS bind mount or baked into a derived
# image). The spool is put on the volume above whatever spool_dir the configuration names (an
# environment variable wins over pipeline.ingestion in the file).
ENV CLICKSTREAM_CONFIG=/etc/clickstream/clickstream.yaml \
    CLICKSTREAM_INGEST_SPOOL_DIR=/var/lib/clickstream/spool
EXPOSE 8088
# gunicorn stops gracefully on SIGTERM (workers seal their files); ECS and Kubernetes send it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["clickstream", "serve", "--bind", "0.0.0.0:8088"]
