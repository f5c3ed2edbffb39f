"""A real SFTP server on 127.0.0.1 for delivery tests (asyncssh's server, password auth).

It serves a chroot folder, writes a known_hosts file for its fresh host key, and can hold a
write open (``hold_after_bytes``) so a test can kill the client mid-upload.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import asyncssh

USERNAME, PASSWORD = "distributor", "local-test-password"


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (USERNAME, PASSWORD)


class LocalSftp:
    """``with LocalSftp(root) as server:`` → server.port, server.known_hosts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = 0
        self.known_hosts = root.parent / f"known_hosts_{root.name}"
        self.hold_after_bytes: int | None = None
        self.holding = threading.Event()
        self.written = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._acceptor = None

    def _sftp_factory(self, channel):
        server = self

        class HoldingSftp(asyncssh.SFTPServer):
            def __init__(self, chan):
                super().__init__(chan, chroot=str(server.root).encode())

            async def write(self, file_obj, offset, data):
                server.written += len(data)
                if server.hold_after_bytes is not None and server.written > server.hold_after_bytes:
                    server.holding.set()
                    await asyncio.sleep(3600)  # until the client is killed
                return super().write(file_obj, offset, data)

        return HoldingSftp(channel)

    async def _start(self) -> None:
        key = asyncssh.generate_private_key("ssh-ed25519")
        self._acceptor = await asyncssh.listen(
            "127.0.0.1", 0, server_factory=_Server, server_host_keys=[key],
            sftp_factory=self._sftp_factory,
        )  # fmt: skip
        self.port = self._acceptor.sockets[0].getsockname()[1]
        public = key.export_public_key("openssh").decode().strip()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public}\n")

    def __enter__(self) -> LocalSftp:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self._acceptor.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
