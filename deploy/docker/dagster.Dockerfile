# The Dagster code location: the definitions in clickstream_dagster, the dbt project with its
# manifest, and the Spark job for local mode. The same image serves the code location (gRPC),
# the webserver, the daemon and every run the run launcher starts.
# Build from the repository root:
#   docker build -f deploy/docker/dagster.Dockerfile -t clickstream-dagster .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home

# Java for Spark in local mode (processing.engine: local); with engine emr_serverless the job
# runs on EMR and this is unused, but keeping one image for both engines is simpler to operate.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock ./
# The lock is the tested set. Added for production only, from the same release train as dagster
# 1.13.27: dagster-postgres (the instance storage of deploy/dagster/dagster.yaml) and dagster-k8s
# (the run launcher of deploy/helm/values.yaml).
RUN pip install --no-deps -r requirements.lock \
    && pip install -c requirements.lock dagster-postgres==0.29.27 dagster-k8s==0.29.27

COPY pyproject.toml README.md workspace.yaml ./
COPY clickstream_contract/ clickstream_contract/
COPY clickstream_project/ clickstream_project/
COPY clickstream_dagster/ clickstream_dagster/
COPY clickstream_tools/ clickstream_tools/
COPY ingestion/ ingestion/
COPY plugins/ plugins/
COPY dbt_project/ dbt_project/
RUN pip install --no-deps . \
    && dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project

COPY deploy/dagster/dagster.yaml deploy/dagster/workspace.yaml ${DAGSTER_HOME}/

# Production: the definitions refuse a configuration that keeps data on one container's disk
# (clickstream_project/environment.py). Every run task uses this image, so it applies to runs too.
ENV CLICKSTREAM_CONFIG=/etc/clickstream/clickstream.yaml \
    CLICKSTREAM_ENV=production
EXPOSE 4000
# The code location server; the webserver and daemon containers override the command
# (dagster-webserver -w /opt/dagster/home/workspace.yaml / dagster-daemon run).
CMD ["dagster", "api", "grpc", "--module-name", "clickstream_dagster.definitions", "--host", "0.0.0.0", "--port", "4000"]
