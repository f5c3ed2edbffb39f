"""Packs as products: a deterministic zip of files with a manifest (SHA-256 of every file), a
licence file, a README and a preview, and the check that a zip still matches its manifest.

A pack zip holds ``manifest.json`` (``{"pack", "week", "licence_id", "files": {name: sha256}}``,
every member but itself), ``LICENCE.txt``, ``README.txt`` and ``preview.mp3`` beside the pack's
own files. Members are sorted and dated 1980-01-01 (the zip epoch), so the same files give the
same bytes.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lofi_assets.catalog.licence import Licence
from lofi_assets.errors import LofiError
from lofi_assets.storage import atomic_path

MANIFEST_NAME, LICENCE_NAME, README_NAME, PREVIEW_NAME = (
    "manifest.json", "LICENCE.txt", "README.txt", "preview.mp3"
)  # fmt: skip
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
# Already-compressed audio gains nothing from deflate; WAV, FLAC's metadata and text do a little.
STORED_SUFFIXES = (".mp3", ".flac")


class PackError(LofiError):
    """A pack could not be built or read (a missing source file, a name used twice)."""


@dataclass(frozen=True)
class PackMember:
    """One file of a pack: ``arcname`` its path inside the zip (forward slashes), ``source``
    the file on disk."""

    arcname: str
    source: Path


@dataclass(frozen=True)
class BuiltPack:
    zip_path: Path
    manifest: dict
    size_bytes: int


def sha256_of_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def licence_text(licence: Licence, artist: str, site_url: str, titles: Sequence[str]) -> str:
    """The LICENCE.txt of a pack: the licence, its terms and the credit line of each track."""
    credits = "\n".join(
        "  " + licence.attribution.format(title=t, artist=artist, site_url=site_url) for t in titles
    )
    return (
        f"{licence.name} ({licence.licence_id})\n\n{licence.summary}\n\n"
        f"Commercial and sync use: {licence.commercial_terms}\n\n"
        f"Credit lines:\n{credits}\n\nTerms: {site_url.rstrip('/')}/licences/index.html\n"
    )


def build_pack(
    zip_path: Path,
    pack: str,
    week: str,
    members: Sequence[PackMember],
    licence: Licence,
    licence_body: str,
    readme: str,
    preview: Path,
    details: dict | None = None,
) -> BuiltPack:
    """Write ``zip_path`` (atomically) with ``members``, the licence, README and preview, and
    the manifest of them all (``details``, e.g. the tracks and samples, go into it as well).

    Raises:
        PackError: a source file is missing, or two members share a name.
    """
    payloads: dict[str, bytes] = {
        LICENCE_NAME: licence_body.encode("utf-8"),
        README_NAME: readme.encode("utf-8"),
    }
    for member in [*members, PackMember(PREVIEW_NAME, preview)]:
        if member.arcname in payloads:
            raise PackError(f"{pack} {week}: two files named {member.arcname}")
        if not member.source.is_file():
            raise PackError(f"{pack} {week}: no file at {member.source}")
        payloads[member.arcname] = member.source.read_bytes()
    manifest = {
        **(details or {}),
        "pack": pack,
        "week": week,
        "licence_id": licence.licence_id,
        "files": {name: sha256_of_bytes(payloads[name]) for name in sorted(payloads)},
    }
    payloads[MANIFEST_NAME] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    needed = sum(map(len, payloads.values()))
    with (
        atomic_path(zip_path, 0o644, needed_bytes=needed) as tmp,
        zipfile.ZipFile(tmp, "w") as archive,
    ):
        for name in sorted(payloads):
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            stored = name.endswith(STORED_SUFFIXES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, payloads[name])
    return BuiltPack(zip_path, manifest, zip_path.stat().st_size)


def manifest_problems(zip_path: Path) -> list[str]:
    """What in ``zip_path`` disagrees with its manifest: a member missing from it or from the
    zip, a SHA-256 that differs, no manifest or no licence; empty when it matches."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = set(archive.namelist())
            if MANIFEST_NAME not in names:
                return [f"no {MANIFEST_NAME} in {zip_path.name}"]
            listed = json.loads(archive.read(MANIFEST_NAME))["files"]
            problems = [
                f"{n}: in the zip, not in the manifest"
                for n in sorted(names - {MANIFEST_NAME} - set(listed))
            ]
            for name in sorted(listed):
                if name not in names:
                    problems.append(f"{name}: in the manifest, not in the zip")
                elif sha256_of_bytes(archive.read(name)) != listed[name]:
                    problems.append(f"{name}: SHA-256 differs from the manifest")
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        return [f"{zip_path.name} is unreadable: {error}"]
    if LICENCE_NAME not in listed:
        problems.append(f"no {LICENCE_NAME}")
    return problems
