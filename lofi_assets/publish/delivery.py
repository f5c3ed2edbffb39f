"""Delivering a bundle to a distributor: a local drop folder, or SFTP.

Both targets follow one protocol, so a receiver never sees half a bundle and a killed delivery
never leaves two:

1. if the target already holds a bundle of this name whose ``manifest.json`` has the same
   SHA-256, nothing is sent (``unchanged``);
2. leftovers of interrupted deliveries (``.<name>.partial-*`` and ``.<name>.old-*``) are
   removed;
3. the files go to ``.<name>.partial-<token>`` and are checked (size, or SHA-256 locally);
4. the old bundle, if any, is renamed aside, the new one renamed into place (``updated`` or
   ``delivered``), and the old one removed.

The receipt lists every file's SHA-256 and the manifest's.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from lofi_assets.errors import LofiError
from lofi_assets.publish.distribution import MANIFEST_FILE, bundle_problems
from lofi_assets.storage import sha256_of

CONNECT_TIMEOUT_S = 20


class DeliveryError(LofiError):
    """The bundle could not be delivered: the target is unreachable, refused, or full."""


@dataclass(frozen=True)
class Receipt:
    target: str  # where, without credentials
    bundle: str  # the bundle's name at the target
    outcome: str  # delivered | updated | unchanged
    manifest_sha256: str
    files: dict[str, str]  # relative path → SHA-256

    def to_document(self) -> dict:
        return asdict(self)


@runtime_checkable
class DeliveryTarget(Protocol):
    """Where release bundles go (``DropFolder``, ``SftpTarget``). A new target implements
    these two methods with the module's protocol (unchanged / partial / swap) and is chosen in
    ``DistributorResource.target`` (``defs/resources.py``) by its ``Delivery`` value."""

    def describe(self) -> str:
        """Where bundles go, for messages and the receipt: never a credential."""
        ...

    def deliver(self, bundle: Path, name: str) -> Receipt:
        """Put the ``bundle`` folder at the target as ``name``, atomically for a receiver.

        Raises:
            DeliveryError: unreachable, refused or full; nothing half-delivered stays.
        """
        ...


def _local_files(bundle: Path) -> dict[str, str]:
    return {
        p.relative_to(bundle).as_posix(): sha256_of(p)
        for p in sorted(bundle.rglob("*"))
        if p.is_file()
    }


def _is_leftover(entry: str, name: str) -> bool:
    return entry.startswith((f".{name}.partial-", f".{name}.old-"))


class DropFolder:
    """A folder the distributor (or a sync tool) picks bundles up from."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"drop folder {self.root}"

    def deliver(self, bundle: Path, name: str) -> Receipt:
        files = _local_files(bundle)
        manifest_sha = files[MANIFEST_FILE]
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            final = self.root / name
            held = final / MANIFEST_FILE
            if held.is_file() and sha256_of(held) == manifest_sha and not bundle_problems(final):
                return Receipt(self.describe(), name, "unchanged", manifest_sha, files)
            for entry in self.root.iterdir():
                if _is_leftover(entry.name, name):
                    shutil.rmtree(entry, ignore_errors=True)
            token = secrets.token_hex(4)
            staging = self.root / f".{name}.partial-{token}"
            shutil.copytree(bundle, staging)
            problems = bundle_problems(staging)
            if problems:
                raise DeliveryError(f"The copy in {staging} is not the bundle: {problems}")
            outcome = "updated" if final.exists() else "delivered"
            retired = self.root / f".{name}.old-{token}"
            if final.exists():
                final.rename(retired)
            staging.rename(final)
            shutil.rmtree(retired, ignore_errors=True)
        except OSError as error:
            raise DeliveryError(
                f"Cannot deliver to {self.root}: {error.strerror or error} — check that the "
                "drop folder is writable and has room"
            ) from error
        return Receipt(self.describe(), name, outcome, manifest_sha, files)


@dataclass(frozen=True)
class SftpTarget:
    host: str
    port: int
    username: str
    remote_dir: str
    password: str | None = None
    private_key_file: str | None = None
    known_hosts: str | None = None  # a known_hosts file; None: ~/.ssh/known_hosts

    def describe(self) -> str:
        return f"sftp://{self.username}@{self.host}:{self.port}/{self.remote_dir.lstrip('/')}"

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return f"SftpTarget({self.describe()})"

    def deliver(self, bundle: Path, name: str) -> Receipt:
        import asyncssh

        try:
            return asyncio.run(self._deliver(bundle, name))
        except (OSError, asyncssh.Error, TimeoutError) as error:
            raise DeliveryError(
                f"SFTP delivery to {self.describe()} failed: {type(error).__name__}: {error}. "
                "Check the host, port, credentials and known_hosts; the next run resumes cleanly"
            ) from error

    async def _deliver(self, bundle: Path, name: str) -> Receipt:
        import asyncssh

        files = _local_files(bundle)
        manifest_sha = files[MANIFEST_FILE]
        options = {
            "username": self.username,
            "password": self.password,
            "client_keys": [self.private_key_file] if self.private_key_file else None,
            "connect_timeout": CONNECT_TIMEOUT_S,
        }
        if self.known_hosts is not None:
            options["known_hosts"] = self.known_hosts
        async with (
            asyncssh.connect(self.host, self.port, **options) as connection,
            connection.start_sftp_client() as sftp,
        ):
            root = self.remote_dir.rstrip("/") or "."
            await sftp.makedirs(root, exist_ok=True)
            final = f"{root}/{name}"
            if await self._holds(sftp, f"{final}/{MANIFEST_FILE}", manifest_sha):
                return Receipt(self.describe(), name, "unchanged", manifest_sha, files)
            for entry in await sftp.listdir(root):
                if _is_leftover(entry, name):
                    await sftp.rmtree(f"{root}/{entry}")
            token = secrets.token_hex(4)
            staging = f"{root}/.{name}.partial-{token}"
            for relative in files:
                remote = f"{staging}/{relative}"
                await sftp.makedirs(remote.rsplit("/", 1)[0], exist_ok=True)
                await sftp.put(str(bundle / relative), remote)
                if (await sftp.stat(remote)).size != (bundle / relative).stat().st_size:
                    raise DeliveryError(f"{relative} arrived truncated at {self.describe()}")
            exists = await sftp.exists(final)
            retired = f"{root}/.{name}.old-{token}"
            if exists:
                await sftp.rename(final, retired)
            await sftp.rename(staging, final)
            if exists:
                await sftp.rmtree(retired)
        return Receipt(
            self.describe(), name, "updated" if exists else "delivered", manifest_sha, files
        )

    @staticmethod
    async def _holds(sftp, remote_manifest: str, manifest_sha: str) -> bool:
        import hashlib

        if not await sftp.exists(remote_manifest):
            return False
        async with sftp.open(remote_manifest, "rb") as handle:
            return hashlib.sha256(await handle.read()).hexdigest() == manifest_sha
