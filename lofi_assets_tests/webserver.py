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


@contextlib.contextmanager
def running_webserver(
    environment: dict, timeout_s: float = 120, with_daemon: bool = False
) -> Iterator[Webserver]:
    """Start it with the repository's workspace.yaml; yield once the code location loaded.

    ``with_daemon`` also starts dagster-daemon, which takes queued runs off the queue (the
    instance's run coordinator queues every launched run), as `dagster dev` does.
    """
    port = free_port()
    commands = [
        [BIN / "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    ]
    if with_daemon:
        commands.append([BIN / "dagster-daemon", "run", "-w", "workspace.yaml"])
    processes = [
        subprocess.Popen(
            command,
            env=environment,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        for command in commands
    ]
    webserver = Webserver(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                payload = webserver.graphql("{ assetNodes { id } }")
                if payload.get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("dagster-webserver did not come up")
            time.sleep(1)
        yield webserver
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
