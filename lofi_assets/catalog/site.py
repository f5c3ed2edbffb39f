"""The listening-room site: static HTML (Jinja2 templates), previews, artwork and an Atom feed.

Layout under the site root (``data/catalog_site/``, DESIGN.md)::

    index.html                   every release, newest first, with search and filters
    feed.xml                     Atom feed of the releases (RFC 4287)
    licences/index.html          the licence every track carries (``licence.py``)
    packs/index.html             the weekly packs published here (``packs/<week>/*.zip``)
    static/                      site.css, catalog.js (copied from assets_library/catalog_site)
    <date>/index.html            a release: cover, chapters, tracks, player
    <date>/release.json          the release's facts, read back when the index is rebuilt
    <date>/tracks/<slot>/        a track page, its MP3 preview and piano roll

A release folder is written by ``write_release`` (inside the caller's staging folder, so a
half-built release never replaces a good one); ``write_index`` then rebuilds the pages that
list every release from the ``release.json`` files present.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from lofi_assets.catalog.licence import CREATOR_LICENCE, Licence
from lofi_assets.catalog.templates import render
from lofi_assets.errors import LofiError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.storage import write_bytes_atomic, write_json_atomic
from lofi_assets.visual.video import tool

# 192 kbps MP3 (LAME CBR): transparent enough for lo-fi on laptop speakers, every browser plays it.
PREVIEW_BITRATE_KBPS = 192
PREVIEW_FILE, PIANO_ROLL_FILE, COVER_FILE = "preview.mp3", "piano_roll.png", "cover.jpg"
RELEASE_FILE, FEED_FILE, PACKS_FOLDER = "release.json", "feed.xml", "packs"
COVER_WEB_PX = 600  # the 3000×3000 store cover, scaled for a page
DEFAULT_SITE_URL = "http://127.0.0.1:8765/"  # where `lofi catalog serve` serves it by default
DATE_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")
ATOM = "http://www.w3.org/2005/Atom"
# What XML 1.0 cannot carry at all (its Char production): C0 controls but tab and line
# breaks, lone surrogates, U+FFFE/U+FFFF. One in a title would make the whole feed unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class CatalogSiteError(LofiError):
    """An input of the site is missing or unreadable, or ffmpeg could not make a preview."""


@dataclass(frozen=True)
class CatalogTrack:
    """One track of a release as the site shows it. ``master_path`` (44.1 kHz WAV) and
    ``piano_roll_path`` (PNG) are read when the release is written; ``isrc`` is None until the
    streaming release issued one."""

    slot: str
    title: str
    style: str
    style_name: str
    key: str
    bpm: float
    duration_s: float
    start_s: float  # chapter start in the day's mix
    isrc: str | None
    master_path: Path
    piano_roll_path: Path


@dataclass(frozen=True)
class CatalogRelease:
    """A day's release: ``date`` YYYY-MM-DD, ``mood`` the title's mood word, ``cover_path`` the
    3000×3000 JPEG cover."""

    date: str
    title: str
    description: str
    mood: str
    cover_path: Path
    tracks: tuple[CatalogTrack, ...]


@dataclass(frozen=True)
class SiteSettings:
    """``site_url`` is where the site is served (links in the feed and in Dagster's UI)."""

    channel_name: str
    artist: str
    site_url: str
    licence: Licence = CREATOR_LICENCE

    def url_of(self, relative: str) -> str:
        return self.site_url.rstrip("/") + "/" + relative.lstrip("/")


def _render(template: str, **values: object) -> bytes:
    return render(template, **values).encode("utf-8")


def clock(seconds: float) -> str:
    """m:ss (or h:mm:ss) of a duration or chapter start."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def encode_preview(
    master: Path,
    target: Path,
    bitrate_kbps: int = PREVIEW_BITRATE_KBPS,
    max_duration_s: float | None = None,
) -> Path:
    """``master`` (any audio ffmpeg reads) as a CBR MP3 at ``bitrate_kbps``, its first
    ``max_duration_s`` seconds when given (tags stripped, bit-exact muxing, so the same master
    gives the same bytes).

    Raises:
        CatalogSiteError: the master is missing or ffmpeg failed.
    """
    if not master.is_file():
        raise CatalogSiteError(f"No master at {master}: re-materialize mastered_wav")
    result = subprocess.run(
        [tool("ffmpeg"), "-v", "error", "-y", "-i", str(master), "-map_metadata", "-1",
         "-fflags", "+bitexact", "-flags:a", "+bitexact", "-c:a", "libmp3lame",
         "-b:a", f"{bitrate_kbps}k",
         *(["-t", f"{max_duration_s:g}"] if max_duration_s else []), str(target)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise CatalogSiteError(f"ffmpeg could not encode {master}: {result.stderr.strip()[-300:]}")
    return target


def _web_cover(cover: Path, target: Path) -> None:
    try:
        with Image.open(cover) as image:
            image = image.convert("RGB")
            image.thumbnail((COVER_WEB_PX, COVER_WEB_PX))
            image.save(target, "JPEG", quality=85, optimize=True)
    except OSError as error:
        raise CatalogSiteError(
            f"Cover {cover} is unreadable ({error}): re-materialize thumbnail"
        ) from error


def _track_document(track: CatalogTrack) -> dict:
    document = asdict(track)
    del document["master_path"], document["piano_roll_path"]
    return document


def write_release(folder: Path, release: CatalogRelease, settings: SiteSettings) -> list[Path]:
    """Write ``release``'s pages, cover, previews and piano rolls into ``folder`` (the release's
    folder ``<site>/<date>``, or its staging copy). Returns the page files written
    (release page first).

    Raises:
        CatalogSiteError: a master or the cover is missing or unreadable.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _web_cover(release.cover_path, folder / COVER_FILE)
    document = {
        "date": release.date,
        "title": release.title,
        "description": release.description,
        "mood": release.mood,
        "tracks": [_track_document(track) for track in release.tracks],
    }
    pages = [folder / "index.html"]
    for track in release.tracks:
        track_folder = folder / "tracks" / track.slot
        track_folder.mkdir(parents=True, exist_ok=True)
        encode_preview(track.master_path, track_folder / PREVIEW_FILE)
        if not track.piano_roll_path.is_file():
            raise CatalogSiteError(f"No piano roll at {track.piano_roll_path}: re-run midi_sketch")
        shutil.copyfile(track.piano_roll_path, track_folder / PIANO_ROLL_FILE)
        attribution = settings.licence.attribution.format(
            title=track.title, artist=settings.artist, site_url=settings.site_url
        )
        page = track_folder / "index.html"
        page.write_bytes(
            _render(
                "track.html.j2", root="../../../", site=settings, release=document,
                track=_track_document(track), clock=clock, attribution=attribution,
            )
        )  # fmt: skip
        pages.append(page)
    (folder / "index.html").write_bytes(
        _render("release.html.j2", root="../", site=settings, release=document, clock=clock)
    )
    write_json_atomic(folder / RELEASE_FILE, document)
    return pages


def read_releases(site_root: Path) -> list[dict]:
    """Every release written under ``site_root`` (its ``release.json``), newest first."""
    releases = []
    for folder in sorted(site_root.iterdir() if site_root.is_dir() else [], reverse=True):
        path = folder / RELEASE_FILE
        if DATE_FOLDER.fullmatch(folder.name) and path.is_file():
            releases.append(json.loads(path.read_text(encoding="utf-8")))
    return releases


def _feed(releases: list[dict], settings: SiteSettings) -> bytes:
    ElementTree.register_namespace("", ATOM)

    def element(parent: ElementTree.Element, name: str, text: str = "", **attributes: str):
        child = ElementTree.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
        child.text = _NOT_XML.sub("", text) or None
        return child

    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    element(feed, "title", f"{settings.channel_name}: releases")
    element(feed, "id", settings.url_of(FEED_FILE))
    element(feed, "link", href=settings.url_of(""))
    element(feed, "link", rel="self", href=settings.url_of(FEED_FILE))
    newest = releases[0]["date"] if releases else "1970-01-01"
    element(feed, "updated", f"{newest}T00:00:00Z")
    element(element(feed, "author"), "name", settings.artist)
    for release in releases:
        entry = element(feed, "entry")
        element(entry, "title", release["title"])
        element(entry, "id", settings.url_of(f"{release['date']}/"))
        element(entry, "link", href=settings.url_of(f"{release['date']}/"))
        element(entry, "updated", f"{release['date']}T00:00:00Z")
        element(entry, "summary", release["description"][:500])
    ElementTree.indent(feed)
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def publish_pack(site_root: Path, week: str, zip_path: Path) -> str:
    """Copy a week's pack zip into the site (``packs/<week>/<name>``, atomically); returns its
    path relative to the site root. ``write_index`` lists it on the packs page."""
    relative = f"{PACKS_FOLDER}/{week}/{zip_path.name}"
    write_bytes_atomic(site_root / relative, zip_path.read_bytes())
    return relative


def read_packs(site_root: Path) -> list[dict]:
    """The packs published on the site, newest week first: ``{"week", "packs": [{"name",
    "href", "size_mb"}]}``."""
    weeks = []
    folder = site_root / PACKS_FOLDER
    for week in sorted(folder.iterdir() if folder.is_dir() else [], reverse=True):
        zips = sorted(week.glob("*.zip")) if DATE_FOLDER.fullmatch(week.name) else []
        if zips:
            weeks.append({"week": week.name, "packs": [
                {"name": z.stem.rsplit("_", 1)[0].replace("_", " "),
                 "href": f"{week.name}/{z.name}", "size_mb": round(z.stat().st_size / 1e6, 1)}
                for z in zips]})  # fmt: skip
    return weeks


def write_index(site_root: Path, settings: SiteSettings) -> list[dict]:
    """Rebuild the pages that list every release (index, feed, licences), the packs page and
    the static files; each written atomically. Returns the releases listed, newest first."""
    releases = read_releases(site_root)
    write_bytes_atomic(
        site_root / PACKS_FOLDER / "index.html",
        _render("packs.html.j2", root="../", site=settings, weeks=read_packs(site_root)),
    )
    static = assets_library_dir() / "catalog_site" / "static"
    for source in sorted(static.iterdir()):
        write_bytes_atomic(site_root / "static" / source.name, source.read_bytes())
    tracks = [track for release in releases for track in release["tracks"]]
    choices = {
        "styles": sorted({(t["style"], t["style_name"]) for t in tracks}),
        "moods": sorted({r["mood"] for r in releases if r["mood"]}),
        "key_names": sorted({t["key"] for t in tracks}),
    }
    write_bytes_atomic(
        site_root / "index.html",
        _render(
            "index.html.j2", root="", site=settings, releases=releases, choices=choices,
            clock=clock,
        ),
    )  # fmt: skip
    write_bytes_atomic(
        site_root / "licences" / "index.html",
        _render("licences.html.j2", root="../", site=settings, licence=settings.licence),
    )
    write_bytes_atomic(site_root / FEED_FILE, _feed(releases, settings))
    return releases
