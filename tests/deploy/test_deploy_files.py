"""Every file under deploy/ is checked here: Docker cannot run on this machine, AWS and
Kubernetes are not reachable, so each file is validated against the schema of the tool that
reads it (Dagster's instance schema, the run launcher's own schema, botocore's request models,
this project's configuration parser) and against the repository it refers to."""

import json
import re
import shlex
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator
from dagster._config import validate_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from packaging.requirements import Requirement

from clickstream_project.config import load_config
from clickstream_project.environment import production_problems
from ingestion.settings import layered_config
from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"

# deploy/<file> → (botocore service, operation) whose request the file is the input of
# (`aws <service> <operation> --cli-input-json file://<file>`).
AWS_REQUESTS = {
    "ecs/ingestion-task-definition.json": ("ecs", "RegisterTaskDefinition"),
    "ecs/ingestion-service.json": ("ecs", "CreateService"),
    "ecs/ingestion-target-group.json": ("elbv2", "CreateTargetGroup"),
    "ecs/alb-listener.json": ("elbv2", "CreateListener"),
    "emr-serverless/application.json": ("emr-serverless", "CreateApplication"),
    "warehouse/redshift-serverless-namespace.json": ("redshift-serverless", "CreateNamespace"),
    "warehouse/redshift-serverless-workgroup.json": ("redshift-serverless", "CreateWorkgroup"),
    "warehouse/athena-workgroup.json": ("athena", "CreateWorkGroup"),
    "warehouse/athena-console-workgroup.json": ("athena", "CreateWorkGroup"),
    "sinks/firehose-delivery-stream.json": ("firehose", "CreateDeliveryStream"),
}
IAM_POLICIES = ["emr-serverless/dagster-policy.json", "emr-serverless/execution-role-policy.json", "warehouse/athena-console-policy.json"]
DOCKERFILES = ["docker/ingestion.Dockerfile", "docker/dagster.Dockerfile"]


def load_json(relative: str) -> dict:
    return json.loads((DEPLOY / relative).read_text())


def load_yaml(relative: str) -> dict:
    return yaml.safe_load((DEPLOY / relative).read_text())


def test_every_deploy_file_is_checked_here():
    checked = {*AWS_REQUESTS, *IAM_POLICIES, *DOCKERFILES, *(f + ".dockerignore" for f in DOCKERFILES),
               "dagster/dagster.yaml", "dagster/workspace.yaml", "helm/values.yaml", "config/clickstream.production.yaml",
               "sinks/kafka-s3-sink-connector.json"}  # fmt: skip
    present = {str(p.relative_to(DEPLOY)) for p in DEPLOY.rglob("*") if p.is_file() and p.suffix != ".md"}
    assert present == checked


# AWS requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(("relative", "operation"), AWS_REQUESTS.items(), ids=list(AWS_REQUESTS))
def test_aws_request_files_match_the_api(relative, operation):
    service, name = operation
    model = botocore.session.get_session().get_service_model(service).operation_model(name)
    params = load_json(relative)
    # The CLI and SDKs generate idempotency tokens (EMR Serverless' clientToken) themselves.
    for member, shape in model.input_shape.members.items():
        if shape.metadata.get("idempotencyToken"):
            params.setdefault(member, "generated-by-the-cli")
    report = ParamValidator().validate(params, model.input_shape)
    assert not report.has_errors(), report.generate_report()


def test_the_api_check_catches_a_wrong_field():
    model = botocore.session.get_session().get_service_model("elbv2").operation_model("CreateTargetGroup")
    wrong = {**load_json("ecs/ingestion-target-group.json"), "HealthCheckUrl": "/ready"}
    assert 'Unknown parameter in input: "HealthCheckUrl"' in ParamValidator().validate(wrong, model.input_shape).generate_report()


@pytest.mark.parametrize("relative", IAM_POLICIES)
def test_iam_policies_are_policy_documents(relative):
    policy = load_json(relative)
    assert policy["Version"] == "2012-10-17" and policy["Statement"]
    for statement in policy["Statement"]:
        assert statement["Effect"] in {"Allow", "Deny"} and "Action" in statement and "Resource" in statement


def test_kafka_connector_writes_the_raw_layout():
    connector = load_json("sinks/kafka-s3-sink-connector.json")
    assert connector["config"]["connector.class"] == "io.confluent.connect.s3.S3SinkConnector"


# The ingestion fleet behind its load balancer -------------------------------------------------


def test_load_balancer_health_check_and_ports_agree_with_the_service(tmp_path):
    from ingestion.app import create_app
    from tests.conftest import make_config

    task = load_json("ecs/ingestion-task-definition.json")
    [container] = task["containerDefinitions"]
    target_group = load_json("ecs/ingestion-target-group.json")
    service = load_json("ecs/ingestion-service.json")
    [balancer] = service["loadBalancers"]
    port = container["portMappings"][0]["containerPort"]
    assert port == target_group["Port"] == balancer["containerPort"] == dockerfile_exposed("docker/ingestion.Dockerfile")
    assert balancer["containerName"] == container["name"] and service["taskDefinition"] == task["family"]
    assert target_group["TargetType"] == "ip"  # awsvpc tasks register by IP
    app = create_app(make_config(tmp_path))
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    # The balancer asks for readiness (503 while the sink cannot store); ECS only for liveness:
    # replacing a task because its sink is down would throw away its spool.
    assert target_group["HealthCheckPath"] == "/ready" and "/ready" in routes and "/health" in routes
    assert f"http://127.0.0.1:{port}/health'" in " ".join(container["healthCheck"]["command"])
    # Graceful stop: gunicorn's workers seal and the shipper drains within the stop timeout.
    assert container["stopTimeout"] >= 60


def test_production_configuration_is_valid_and_matches_the_containers():
    config = load_config(DEPLOY / "config" / "clickstream.production.yaml")
    assert config.pipeline.sink.type == "s3" and config.pipeline.processing.engine == "emr_serverless"
    assert config.pipeline.ingestion.bind.endswith(":8088")
    # The image names the spool's directory itself, on its volume.
    image_config = layered_config(config, environ=dockerfile_env("docker/ingestion.Dockerfile"))
    assert image_config.spool_root.is_relative_to(dockerfile_volume("docker/ingestion.Dockerfile"))
    mounts = {m["containerPath"] for m in load_json("ecs/ingestion-task-definition.json")["containerDefinitions"][0]["mountPoints"]}
    assert dockerfile_volume("docker/ingestion.Dockerfile") in mounts
    assert str(Path(dockerfile_env("docker/ingestion.Dockerfile")["CLICKSTREAM_CONFIG"]).parent) in mounts
    emr = load_json("emr-serverless/application.json")
    assert emr["type"] == "SPARK"
    # The Dagster image runs the definitions in production mode, which accepts this configuration.
    assert dockerfile_env("docker/dagster.Dockerfile")["CLICKSTREAM_ENV"] == "production"
    assert not production_problems(config)


# Dagster instance and Helm values --------------------------------------------------------------


def test_production_dagster_yaml_is_a_valid_instance_config():
    config, custom_class = dagster_instance_config(str(DEPLOY / "dagster"), "dagster.yaml")
    assert custom_class is None and set(config["storage"]) == {"postgres"}
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    from dagster_aws.ecs import EcsRunLauncher

    result = validate_config(EcsRunLauncher.config_type(), launcher["config"])
    assert result.success, result.errors


def test_instance_validation_rejects_a_misspelt_key(tmp_path):
    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster" / "dagster.yaml").read_text().replace("run_queue:", "run_queues:"))
    with pytest.raises(DagsterInvalidConfigError, match="run_queues"):
        dagster_instance_config(str(tmp_path), "dagster.yaml")


def test_launcher_validation_rejects_a_misspelt_key():
    from dagster_aws.ecs import EcsRunLauncher

    launcher = load_yaml("dagster/dagster.yaml")["run_launcher"]["config"]
    assert not validate_config(EcsRunLauncher.config_type(), {**launcher, "run_task_kwarg": {}}).success


def test_workspace_reaches_the_code_location_of_the_image():
    [entry] = load_yaml("dagster/workspace.yaml")["load_from"]
    cmd = dockerfile_instruction("docker/dagster.Dockerfile", "CMD")
    assert entry["grpc_server"]["port"] == int(cmd[cmd.index("--port") + 1]) == dockerfile_exposed("docker/dagster.Dockerfile")
    assert (
        entry["grpc_server"]["location_name"]
        == yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())["load_from"][0]["python_module"]["location_name"]
    )


def test_helm_values_run_this_code_location_with_the_instance_limits():
    values = load_yaml("helm/values.yaml")
    [deployment] = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    assert module == "clickstream_dagster.definitions" and (REPO_ROOT / (module.replace(".", "/") + ".py")).exists()
    env = {item["name"]: item["value"] for item in deployment["env"]}
    mount = {m["name"]: m["mountPath"] for m in deployment["volumeMounts"]}
    assert str(Path(env["CLICKSTREAM_CONFIG"]).parent) == mount["project-config"]
    assert {v["name"] for v in deployment["volumes"]} == set(mount)
    assert values["runLauncher"]["type"] == "K8sRunLauncher" and values["postgresql"]["enabled"] is False
    limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    run_queue = load_yaml("dagster/dagster.yaml")["run_queue"]
    assert limits["maxConcurrentRuns"] == run_queue["max_concurrent_runs"]
    assert limits["tagConcurrencyLimits"] == run_queue["tag_concurrency_limits"]
    assert values["dagsterWebserver"]["image"]["tag"] == installed_version("dagster")


# Dockerfiles ---------------------------------------------------------------------------------


def dockerfile_lines(relative: str) -> list[str]:
    text = (DEPLOY / relative).read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def dockerfile_instruction(relative: str, name: str) -> list[str]:
    [line] = [line for line in dockerfile_lines(relative) if line.split()[0] == name]
    return json.loads(line[len(name) :].strip())


def dockerfile_exposed(relative: str) -> int:
    [line] = [line for line in dockerfile_lines(relative) if line.startswith("EXPOSE ")]
    return int(line.split()[1])


def dockerfile_volume(relative: str) -> str:
    [line] = [line for line in dockerfile_lines(relative) if line.startswith("VOLUME ")]
    return line.split()[1]


def dockerfile_env(relative: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in dockerfile_lines(relative):
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def copy_sources(relative: str) -> list[str]:
    sources = []
    for line in dockerfile_lines(relative):
        if line.startswith(("COPY ", "ADD ")):
            parts = [p for p in shlex.split(line)[1:] if not p.startswith("--")]
            sources += parts[:-1]
    return sources


@pytest.mark.parametrize("relative", DOCKERFILES)
def test_dockerfile_copies_only_existing_paths_that_the_ignore_file_lets_through(relative):
    sources = copy_sources(relative)
    assert sources, "no COPY instruction found"
    allowed = {line[1:].rstrip("/") for line in (DEPLOY / (relative + ".dockerignore")).read_text().splitlines() if line.startswith("!")}
    for source in sources:
        assert (REPO_ROOT / source).exists(), f"{relative}: COPY {source} does not exist in the repository"
        assert source.rstrip("/") in allowed, f"{relative}: {source} is excluded by its .dockerignore"


@pytest.mark.parametrize("relative", DOCKERFILES)
def test_dockerfile_base_image_is_the_tested_python(relative):
    [base] = [line.split()[1] for line in dockerfile_lines(relative) if line.startswith("FROM ")]
    assert base.startswith(f"python:{sys.version_info.major}.{sys.version_info.minor}-")


def test_ingestion_entrypoint_is_the_serve_command():
    entrypoint = dockerfile_instruction("docker/ingestion.Dockerfile", "ENTRYPOINT")
    assert entrypoint[:2] == ["clickstream", "serve"]
    result = subprocess.run([sys.executable, "-m", "clickstream_tools.cli", *entrypoint[1:], "--help"],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)  # fmt: skip
    assert result.returncode == 0 and "--bind" in result.stdout, result.stderr


def installed_version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def _closure(names: set[str]) -> set[str]:
    """The distributions named and everything they require (in this environment)."""
    seen: set[str] = set()
    todo = [canonical(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in requirements:
            requirement = Requirement(text)
            extras_ok = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
            if extras_ok:
                todo.append(canonical(requirement.name))
            elif requirement.marker and any(requirement.marker.evaluate({"extra": e}) for e in _extras_of(names, name)):
                todo.append(canonical(requirement.name))
    return seen


def _extras_of(names: set[str], distribution: str) -> list[str]:
    for name in names:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\[([^\]]+)\]", name)
        if match and canonical(match[1]) == distribution:
            return [e.strip() for e in match[2].split(",")]
    return []


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def test_ingestion_image_installs_everything_the_service_imports():
    line = next(text for text in dockerfile_lines("docker/ingestion.Dockerfile") if text.startswith("RUN pip install -c requirements.lock"))
    named = {p for p in shlex.split(line)[1:] if not p.startswith("-") and p not in {"pip", "install", "requirements.lock"}}
    probe = (
        "import sys, ingestion.app, ingestion.server, ingestion.sinks.s3, ingestion.sinks.kinesis, ingestion.sinks.kafka, "
        "clickstream_tools.cli\n"
        "from clickstream_project.config import load_config\n"
        "load_config('deploy/config/clickstream.production.yaml')\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    # The project's own packages come from COPY, not pip: each one imported must be copied in.
    project_packages = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").is_file()}
    copied = {source.rstrip("/") for source in copy_sources("docker/ingestion.Dockerfile")}
    assert set(result.stdout.split()) & project_packages <= copied
    mapping = packages_distributions()
    imported = {canonical(d) for module in result.stdout.split() for d in mapping.get(module, [])}
    imported -= {"clickstream-platform", "pip", "setuptools"}  # the project itself; the image's own tools
    # requests imports chardet when it is installed (sqlfluff brings it into the dev venv) and
    # charset_normalizer otherwise, which the image has.
    imported -= {"chardet"}
    missing = imported - _closure(named)
    assert not missing, f"the ingestion image does not install {sorted(missing)}"
    assert "dagster" not in imported and "pyspark" not in imported


def test_dagster_image_copies_every_project_package_its_code_imports():
    # The Dagster image runs the definitions and launches the Spark job from the same tree.
    probe = "import sys, clickstream_dagster.definitions, plugins.job\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    project_packages = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").is_file()}
    copied = {source.rstrip("/") for source in copy_sources("docker/dagster.Dockerfile")}
    imported = set(result.stdout.split()) & project_packages
    assert imported >= {"clickstream_dagster", "clickstream_project", "clickstream_contract", "plugins"}
    assert imported <= copied, f"the Dagster image does not copy {sorted(imported - copied)}"


def test_readme_commands_name_existing_files():
    readme = (DEPLOY / "README.md").read_text()
    named = set(re.findall(r"file://(deploy/[\w./\-]+)", readme)) | set(re.findall(r"-f (deploy/[\w./\-]+)", readme))
    assert len(named) >= 10
    for path in named:
        assert (REPO_ROOT / path).is_file(), f"deploy/README.md names {path}, which does not exist"
