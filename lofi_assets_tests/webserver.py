"""dagster-webserver as a subprocess on 127.0.0.1, and its GraphQL API."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from lofi_assets_tests.conftest import REPO_ROOT, die_with_parent

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Webserver:
    def __init__(self, url: str) -> None:
        self.url = url

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}"""


def launch_partition_run(
    webserver: Webserver, assets: list[str], date: str, slot: str, run_config: dict
) -> str:
    """Launch a run of ``assets`` for one date × slot partition through GraphQL, as the UI's
    Materialize does (no assetCheckSelection: the checks run with their asset's op)."""
    params = {
        "selector": {
            "repositoryLocationName": "lofi_assets",
            "repositoryName": "__repository__",
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": [name]} for name in assets],
        },
        "runConfigData": run_config,
        "executionMetadata": {
            "tags": [
                {"key": "dagster/partition", "value": f"{date}|{slot}"},
                {"key": "dagster/partition/date", "value": date},
                {"key": "dagster/partition/slot", "value": slot},
            ]
        },
        "mode": "default",
    }
    launched = webserver.graphql(LAUNCH_RUN, {"params": params})["data"]["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


class ServerFailed(RuntimeError):
    """A test server exited, or its code location failed to load; carries its log's tail."""


def _log_tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _start(command: list, environment: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as sink:
        return subprocess.Popen(
            command,
            env=environment,
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )


def _location_error(webserver: Webserver) -> str | None:
    """The load error of our code location, once the webserver has given up loading it."""
    entries = webserver.graphql(LOCATIONS)["data"]["workspaceOrError"]["locationEntries"]
    for entry in entries:
        error = entry["locationOrLoadError"] or {}
        if entry["loadStatus"] == "LOADED" and error.get("__typename") == "PythonError":
            return f"{entry['name']}: {error['message']}"
    return None


def _wait_until_up(webserver: Webserver, process: subprocess.Popen, log: Path, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise ServerFailed(
                f"dagster-webserver exited with {process.returncode}:\n{_log_tail(log)}"
            )
        try:
            payload = webserver.graphql("{ assetNodes { id } }")
            if payload.get("data", {}).get("assetNodes"):
                return
            error = _location_error(webserver)
            if error:
                raise ServerFailed(f"the code location failed to load: {error}")
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerFailed(
                f"dagster-webserver did not serve our assets in {timeout_s:.0f} s:\n"
                f"{_log_tail(log)}"
            )
        time.sleep(1)


# dagster-daemon's own entry point with the backfill daemon's pause between iterations
# shortened. The pause is a module constant (DEFAULT_DAEMON_INTERVAL_SECONDS = 30, read when
# the loop starts; no instance setting changes it), so a backfill waits up to 30 s to be picked
# up and up to 30 s more to be seen complete: idle minutes per test, nothing the test checks.
_DAEMON_WITH_INTERVAL = (
    "import sys; import dagster._daemon.controller as controller; "
    "controller.DEFAULT_DAEMON_INTERVAL_SECONDS = {}; "
    "from dagster._daemon.cli import main; sys.argv[0] = 'dagster-daemon'; sys.exit(main())"
)


@contextlib.contextmanager
def running_webserver(
    environment: dict,
    timeout_s: float = 300,
    with_daemon: bool = False,
    workspace: Path | None = None,
    backfill_interval_s: float | None = None,
) -> Iterator[Webserver]:
    """Start it with the repository's workspace.yaml (or ``workspace``); yield once the code
    location loaded.

    ``with_daemon`` also starts dagster-daemon, which takes queued runs off the queue (the
    instance's run coordinator queues every launched run), as `dagster dev` does. The daemon
    starts only once the webserver is up, so the two never create a fresh instance's SQLite
    storage at the same moment, and the machine's cores go to one start-up at a time. Both
    servers log to files beside DAGSTER_HOME; a failure quotes the log's tail.

    ``backfill_interval_s`` runs the same daemon with its backfill loop waking that often
    instead of every 30 s (``_DAEMON_WITH_INTERVAL``).
    """
    logs = Path(environment["DAGSTER_HOME"]).parent
    webserver_log, daemon_log = logs / "dagster-webserver.log", logs / "dagster-daemon.log"
    processes: list[subprocess.Popen] = []
    workspace_file = str(workspace or "workspace.yaml")
    try:
        # A port taken between free_port() and the server's bind makes it exit: try anew.
        for attempt in range(3):
            port = free_port()
            command = [BIN / "dagster-webserver", "-w", workspace_file, "-h", "127.0.0.1",
                       "-p", str(port)]  # fmt: skip
            processes.append(_start(command, environment, webserver_log))
            webserver = Webserver(f"http://127.0.0.1:{port}")
            try:
                _wait_until_up(webserver, processes[-1], webserver_log, timeout_s)
                break
            except ServerFailed:
                lost_the_port = "address already in use" in _log_tail(webserver_log).lower()
                if processes[-1].poll() is None or not lost_the_port or attempt == 2:
                    raise
        if with_daemon:
            command = [BIN / "dagster-daemon", "run", "-w", workspace_file]
            if backfill_interval_s is not None:
                command = [BIN / "python", "-c", _DAEMON_WITH_INTERVAL.format(backfill_interval_s),
                           "run", "-w", workspace_file]  # fmt: skip
            processes.append(_start(command, environment, daemon_log))
        yield webserver
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=30)
