"""The production shape: docker/ is consistent, and the instance and warehouse run on a real
PostgreSQL (a fresh database per test, dropped afterwards)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.publish.analytics import Snapshot, early_performance, upsert_snapshot
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets_tests.conftest import REPO_ROOT, production_environment

DOCKER = REPO_ROOT / "docker"
BIN = Path(sys.executable).parent
DAGSTER_SERVICES = ("init_instance", "user_code", "webserver", "daemon", "celery_worker")
# Services that start or execute runs: they start only once init_instance has prepared the
# instance (schema and every pool's limit), so no run claims a pool that has no limit row.
RUN_SERVICES = ("user_code", "webserver", "daemon", "celery_worker")
SCALE_OUT = {"redis", "celery_worker"}  # only with `--profile scale-out`


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def test_compose_radio_service_streams_the_shared_queue_and_restarts():
    """The 24/7 radio (issue 16): `lofi radio` on the data volume, restarted by Docker,
    opt-in (its ingest URL and key live in .env), with the ingest variables documented."""
    radio = _compose()["services"]["radio"]
    dockerfile = (DOCKER / "Dockerfile").read_text()
    data_dir = re.search(r"^\s+LOFI_DATA_DIR=(\S+?)\s*\\?$", dockerfile, re.M)[1]
    assert radio["command"] == ["lofi", "radio"] and radio["restart"] == "unless-stopped"
    assert radio["profiles"] == ["radio"] and radio["env_file"] == ".env"
    assert f"lofi_data:{data_dir}" in radio["volumes"]
    example = (DOCKER / ".env.example").read_text()
    assert {"LOFI_RTMP_URL", "LOFI_STREAM_KEY"} <= set(re.findall(r"^([A-Z_]+)=", example, re.M))


def test_compose_file_describes_the_dagster_deploy_shape():
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "radio", *DAGSTER_SERVICES}
    assert {name for name, s in services.items() if s.get("profiles") == ["scale-out"]} == SCALE_OUT
    dockerfile = (DOCKER / "Dockerfile").read_text()
    env = dict(re.findall(r"^\s+(DAGSTER_HOME|LOFI_DATA_DIR)=(\S+?)\s*\\?$", dockerfile, re.M))
    for name in DAGSTER_SERVICES:
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
        assert service["image"] == "lofi-empire:latest"
        assert service["env_file"] == ".env"
        mounts = {v.split(":")[1] for v in service["volumes"]}
        assert {env["DAGSTER_HOME"], env["LOFI_DATA_DIR"]} <= mounts
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            assert source in compose["volumes"] or (DOCKER / source).is_file(), volume
    assert all(p.startswith("127.0.0.1:") for p in services["webserver"]["ports"])
    grpc = yaml.safe_load((DOCKER / "workspace.yaml").read_text())["load_from"][0]["grpc_server"]
    user_code = services["user_code"]["command"]
    assert grpc["host"] == "user_code" and str(grpc["port"]) == user_code[user_code.index("-p") + 1]
    assert "lofi_assets.definitions" in user_code
    # Celery workers consume the broker docker/celery_worker.yaml names: the redis service,
    # its URLs (password included) read from the environment the services are given.
    worker = yaml.safe_load((DOCKER / "celery_worker.yaml").read_text())["execution"]["config"]
    assert (worker["broker"], worker["backend"]) == (
        {"env": "LOFI_CELERY_BROKER"},
        {"env": "LOFI_CELERY_BACKEND"},
    )
    for name in DAGSTER_SERVICES:
        environment = services[name]["environment"]
        for variable, database in (("LOFI_CELERY_BROKER", 0), ("LOFI_CELERY_BACKEND", 1)):
            assert re.fullmatch(
                rf"redis://:\$\{{LOFI_REDIS_PASSWORD:\?[^}}]+\}}@redis:6379/{database}",
                environment[variable],
            ), (name, variable)
    assert services["celery_worker"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "-q" in services["celery_worker"]["command"]


def test_the_instance_is_prepared_before_any_service_can_start_a_run():
    services = _compose()["services"]
    init = services["init_instance"]
    assert init["command"] == ["lofi", "pools"] and init["restart"] == "no"
    assert "profiles" not in init  # prepared in every profile
    for name in RUN_SERVICES:
        condition = services[name]["depends_on"]["init_instance"]["condition"]
        assert condition == "service_completed_successfully", name


def test_secrets_live_in_an_uncommitted_env_file_that_names_every_variable():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "docker/.env"], cwd=REPO_ROOT, check=False
    )
    assert ignored.returncode == 0, "docker/.env must be ignored by git"
    example = (DOCKER / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    wanted = set(re.findall(r"env: (\w+)", (DOCKER / "dagster.yaml").read_text())) - {
        "DAGSTER_HOME"
    }
    # ${NAME} is read from .env; $${NAME} is the container's own variable at run time.
    # With or without a default (:-) or a required-message (:?).
    compose = (DOCKER / "docker-compose.yml").read_text()
    wanted |= set(re.findall(r"(?<!\$)\$\{(\w+)(?::[-?][^}]*)?\}", compose))
    assert wanted <= defined, wanted - defined


# --- production hardening: non-root images, a Redis that demands a password and stays off
# public networks (issue 15, item 9). No Docker engine runs here (nor `docker compose`), so
# the files are parsed; each rule is also shown refusing a file that breaks it.

ROOT_USERS = {"", "root", "0"}
ENV_EXAMPLE = DOCKER / ".env.example"
REQUIRED_VARIABLE = re.compile(r"\$\{\w+:\?[^}]+\}$")  # compose refuses to start without it
# An unset ${NAME:-default} as compose reads it: the default.
COMPOSE_DEFAULT = re.compile(r"\$\{\w+:-([^}]*)\}")


def _final_stage_user(dockerfile: str) -> str:
    """The user the last stage's processes run as: its last USER instruction ("" for none,
    i.e. root)."""
    final_stage = re.split(r"^FROM\s", dockerfile, flags=re.M | re.I)[-1]
    users = re.findall(r"^USER\s+(\S+)", final_stage, flags=re.M | re.I)
    return users[-1] if users else ""


def hardening_problems(compose: dict, dockerfile: str) -> list[str]:
    """What makes the production shape unsafe: a service of our image that runs as root, a
    data folder its user cannot write, a Redis without a password from the environment, or a
    Redis port published beyond the loopback interface."""
    problems = []
    user = _final_stage_user(dockerfile)
    uid, _, gid = user.partition(":")
    if uid in ROOT_USERS or gid in {"root", "0"}:
        problems.append(f"the Dockerfile's last USER is {user or 'missing'} (root)")
    account = re.search(r"useradd\b[^\n]*?--uid (\d+)[\s\S]*?\s(\w+)\s*\\?\n", dockerfile)
    if account is None or account.group(1) != uid:
        problems.append(f"USER {user} is not the account useradd creates")
    else:
        owned = re.search(rf"chown {account.group(2)}:\w+ ([^\n]+)", dockerfile)
        for folder in ("${DAGSTER_HOME}", "${LOFI_DATA_DIR}"):
            if owned is None or folder not in owned.group(1).split():
                problems.append(f"{folder} is not owned by {account.group(2)}")
    for name, service in compose["services"].items():
        ours = service.get("build", {}).get("dockerfile") == "docker/Dockerfile"
        if ours and str(service.get("user", user)).partition(":")[0] in ROOT_USERS:
            problems.append(f"service {name} runs as root")
    redis = compose["services"]["redis"]
    command = " ".join(redis.get("command", []))
    password = re.search(r"requirepass\s+(\S+)", command)
    if password is None:
        problems.append("redis has no requirepass")
    else:
        reference = password.group(1).strip("\"'")
        # A container variable ($$NAME) set from the environment's ${NAME:?…}, or ${NAME:?…}.
        variable = re.fullmatch(r"\$\$(\w+)", reference)
        source = redis.get("environment", {}).get(variable.group(1)) if variable else reference
        if not REQUIRED_VARIABLE.match(str(source)):
            problems.append(f"redis' requirepass {reference} is not a required variable")
    for port in redis.get("ports", []):
        mapping = COMPOSE_DEFAULT.sub(r"\1", str(port)) if isinstance(port, str) else port
        host_ip = (
            mapping.get("host_ip", "")
            if isinstance(mapping, dict)
            else mapping.rpartition(":")[0].rpartition(":")[0]
        )
        if host_ip != "127.0.0.1":
            problems.append(f"redis port {port} is published on {host_ip or '0.0.0.0'}")
    return problems


def test_images_run_as_non_root_and_redis_demands_a_password_on_loopback():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert hardening_problems(_compose(), dockerfile) == []
    assert _final_stage_user(dockerfile) == "10001:10001"
    # No credentials committed in a URL: every redis:// password is a required variable (or
    # the placeholder the .env example shows).
    for path in (DOCKER / "docker-compose.yml", DOCKER / "celery_worker.yaml", ENV_EXAMPLE):
        passwords = re.findall(r"redis://:?([^@\s]*)@", path.read_text())
        literal = [p for p in passwords if p != "<password>" and not REQUIRED_VARIABLE.match(p)]
        assert literal == [], path.name


def _mutated(change) -> list[str]:
    compose, dockerfile = _compose(), (DOCKER / "Dockerfile").read_text()
    result = change(compose, dockerfile)
    return hardening_problems(compose, result if isinstance(result, str) else dockerfile)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda c, d: re.sub(r"^USER .*$", "", d, flags=re.M), "last USER is missing"),
        (lambda c, d: d + "USER root\n", "last USER is root"),
        (lambda c, d: d + "USER 0:0\n", "last USER is 0:0"),
        (lambda c, d: d.replace("${LOFI_DATA_DIR} ${NUMBA", "${NUMBA"), "LOFI_DATA_DIR} is not"),
        (lambda c, d: c["services"]["daemon"].update(user="root"), "service daemon runs as root"),
        (
            lambda c, d: c["services"]["redis"].update(command=["redis-server"]),
            "redis has no requirepass",
        ),
        (
            lambda c, d: c["services"]["redis"].update(
                command=["redis-server", "--requirepass", "hunter2"]
            ),
            "requirepass hunter2 is not a required variable",
        ),
        (
            lambda c, d: c["services"]["redis"]["environment"].update(
                LOFI_REDIS_PASSWORD="${LOFI_REDIS_PASSWORD}"
            ),
            "is not a required variable",
        ),
        (lambda c, d: c["services"]["redis"].update(ports=["6379:6379"]), "on 0.0.0.0"),
        (lambda c, d: c["services"]["redis"].update(ports=["0.0.0.0:6379:6379"]), "on 0.0.0.0"),
        (
            lambda c, d: c["services"]["redis"].update(ports=[{"target": 6379, "published": 6379}]),
            "on 0.0.0.0",
        ),
    ],
)
def test_the_hardening_rules_refuse_what_breaks_them(change, problem):
    problems = _mutated(change)
    assert any(problem in line for line in problems), problems


def _production_instance(postgres_url, tmp_path, monkeypatch):
    for name, value in production_environment(postgres_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    return dg.DagsterInstance.from_config(os.environ["DAGSTER_HOME"])


def test_a_partition_range_materializes_on_the_postgresql_instance(
    postgres_url, tmp_path, monkeypatch, resources
):
    instance = _production_instance(postgres_url, tmp_path, monkeypatch)
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    dates = ["2026-11-01", "2026-11-02", "2026-11-03"]
    config = {"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}}
    for date in dates:
        assert dg.materialize(
            [midi_sketch], partition_key=track_partition_key(date, "1"), instance=instance,
            resources=resources, run_config=config,
        ).success  # fmt: skip
    runs = instance.get_runs()
    assert len(runs) == 3 and all(run.is_success for run in runs)
    materialized = instance.get_materialized_partitions(dg.AssetKey("midi_sketch"))
    assert {track_partition_key(d, "1") for d in dates} <= set(materialized)
    records = instance.fetch_materializations(dg.AssetKey("midi_sketch"), limit=10).records
    assert len(records) == 3
    instance.dispose()


def test_two_concurrent_materializations_share_the_postgresql_instance(
    postgres_url, tmp_path, monkeypatch
):
    """Two `dagster asset materialize` processes at once, one PostgreSQL instance."""
    instance = _production_instance(postgres_url, tmp_path, monkeypatch)
    environment = {**os.environ, "LOFI_DATA_DIR": str(tmp_path / "data")}
    config = json.dumps({"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}})
    processes = [
        subprocess.Popen(
            [
                BIN / "dagster",
                "asset",
                "materialize",
                "-m",
                "lofi_assets.definitions",
                "--select",
                "midi_sketch",
                "--partition",
                track_partition_key("2026-11-05", slot),
                "--config-json",
                config,
            ],
            env=environment,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for slot in ("1", "2")
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-2000:]
        assert "Error" not in stderr.replace("ErrorBoundary", ""), stderr[-2000:]
    runs = instance.get_runs()
    assert len(runs) == 2 and all(run.is_success for run in runs)
    instance.dispose()


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_the_warehouse_upserts_the_same_way_on_both_engines(engine, request, tmp_path):
    url = (
        request.getfixturevalue("postgres_url")
        if engine == "postgresql"
        else str(tmp_path / "w.duckdb")
    )
    warehouse = Warehouse(url)
    snapshot = Snapshot("2026-11-02")
    snapshot.total_rows.append(("v1", "2026-11-01", "Title", 540.0, 2000, 10, 1, "2026-11-02"))
    for day, views in (("2026-11-01", 900), ("2026-11-02", 1100)):
        snapshot.daily_rows.append((day, "v1", views, 10.0, 300.0, 5, 1, "2026-11-02"))
    assert upsert_snapshot(warehouse, snapshot) == 3
    assert upsert_snapshot(warehouse, snapshot) == 3  # fetched again: replaced, not added
    assert warehouse.query("SELECT count(*) AS n FROM video_daily")[0]["n"] == 2
    (performance,) = early_performance(warehouse)
    assert (performance.views_48h, performance.complete) == (2000, True)
    assert performance.average_view_percentage == pytest.approx(55.6, abs=0.1)
