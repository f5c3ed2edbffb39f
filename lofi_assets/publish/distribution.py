"""A day's tracks as a distributor-ready bundle for Spotify, Apple Music and the rest.

DistroKid and its peers take a release as audio, artwork and metadata; this module makes all
three in the shapes distributors accept:

* audio: 16-bit / 44.1 kHz stereo WAVs from the 24-bit masters with TPDF dither (seeded by the
  ISRC, so the same track always dithers the same way), true peak kept ≤ -1 dBTP, and the ISRC,
  title, artist and release written into the file's ID3 tags;
* artwork: the 3000×3000 RGB JPEG cover, validated;
* metadata: ``manifest.json`` (every file with its SHA-256), a bulk-upload CSV, a DDEX ERN
  4.3-style ``NewReleaseMessage`` and a plain-text checklist for distributors without an API.

Before a byte is written, :func:`release_problems` holds the plan to what the stores' formats
define, in the unit each defines it: identifiers (ISRC, UPC/EAN, DDEX party ids) in their
standard syntax, text that XML 1.0 can carry. The UPC is written as it was given, in every
output: DDEX's ``ICPN`` "comprises 12 or 13 digits, depending whether it is an EAN (13) or a
UPC (12)" (DDEX Data Dictionary, ``ICPN``; ERN 4 dropped ERN 3's ``IsEan`` flag, the length
says it), so a UPC-A padded to 13 digits would claim to be an EAN. The bulk CSV's ``upc``
column carries the same digits, the code as the distributor issued it: sheet and message agree,
and no padded ``0…`` form is offered to a spreadsheet that drops leading zeros. DDEX sets no
length on titles and names (``xs:string``), so none is invented here.

Nothing here depends on the clock: the same inputs give the same bytes, and so the same
manifest SHA-256.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from lxml import etree
from mutagen.id3 import TALB, TIT2, TPE1, TRCK, TSRC
from mutagen.wave import WAVE
from PIL import Image

from lofi_assets.audio.measure import true_peak_dbtp
from lofi_assets.audio.wav import AudioFileError, read_wav, wav_file
from lofi_assets.catalog.licence import CREATOR_LICENCE
from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.publish.identifiers import (
    InvalidProductCodeError,
    compact_isrc,
    parse_product_code,
    valid_isrc,
)
from lofi_assets.publish.metadata import is_blank, timestamp
from lofi_assets.seeding import stable_seed
from lofi_assets.storage import atomic_path, sha256_of, write_bytes_atomic, write_json_atomic

SAMPLE_RATE_HZ = 44_100
MAX_TRUE_PEAK_DBTP = -1.0
COVER_PX = 3000
ERN_NAMESPACE = "http://ddex.net/xml/ern/43"
# DDEX Party Identifier: "PA" + "DPIDA" + a 10-character party number + a check character,
# 18 characters, no hyphens in a message (DDEX Knowledge Base, "Communication of identifiers
# in DDEX messages").
DPID_PATTERN = re.compile(r"PADPIDA[0-9A-Z]{10}[0-9A-Z]")
# Characters XML 1.0 cannot carry (W3C XML 1.0, §2.2 "Characters", production [2] Char):
# C0 controls but tab/newline/return, surrogates, U+FFFE and U+FFFF. lxml refuses them with a
# traceback; a one-line field (a title, a name) must not hold tab/newline/return either, or the
# bulk CSV row and stores' displays break.
NOT_XML_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
LINE_BREAKS = re.compile("[\t\n\r]")
AI_DISCLOSURE = (
    "Composed and produced by software (a seeded music-theory engine and a small model trained "
    "by the label); no human performance. Declared as AI-generated where the store asks."
)
MANIFEST_FILE, CSV_FILE, ERN_FILE, CHECKLIST_FILE = (
    "manifest.json",
    "metadata.csv",
    "ern.xml",
    "CHECKLIST.txt",
)


class DistributionError(LofiError):
    """A bundle cannot be made from these inputs (missing master, wrong cover …)."""


@dataclass(frozen=True)
class ReleaseSettings:
    artist: str
    label: str
    genre: str = "Hip-Hop/Rap"
    subgenre: str = "Lo-Fi"
    lead_days: int = 14  # stores want the release 1–4 weeks ahead
    language: str = "zxx"  # ISO 639-2 "no linguistic content": instrumental

    def __post_init__(self) -> None:
        if not 7 <= self.lead_days <= 60:
            raise ConfigError(f"lead_days={self.lead_days}: stores want 7 to 60 days of notice")
        if is_blank(self.artist) or is_blank(self.label):  # nothing visible, not only spaces
            raise ConfigError("A streaming release needs an artist and a label")


@dataclass(frozen=True)
class TrackEntry:
    position: int
    title: str
    isrc: str  # CC-XXX-YY-NNNNN
    duration_s: float
    audio_file: str  # relative to the bundle
    sha256: str = ""
    # The licence the track is offered under to creators (catalog/licence.py; the site and the
    # packs name the same one), in the bundle's manifest beside the ISRC.
    licence_id: str = CREATOR_LICENCE.licence_id

    @property
    def isrc_compact(self) -> str:  # the 12-character form tags and DDEX use
        return compact_isrc(self.isrc)


@dataclass(frozen=True)
class ReleasePlan:
    partition_date: str
    release_date: str
    title: str
    upc: str
    artist: str
    label: str
    genre: str
    subgenre: str
    release_type: str  # Single (1–3 tracks, ≤ 30 min) or EP
    p_line: str
    c_line: str
    explicit: bool
    language: str
    ai_generated: bool
    ai_disclosure: str
    tracks: list[TrackEntry] = field(default_factory=list)
    artwork_file: str = "artwork/cover.jpg"
    artwork_sha256: str = ""


def plan_release(
    partition_date: str,
    title: str,
    upc: str,
    settings: ReleaseSettings,
    tracks: Sequence[tuple[str, str, float]],  # (title, isrc, duration_s) in slot order
) -> ReleasePlan:
    release_date = dt.date.fromisoformat(partition_date) + dt.timedelta(days=settings.lead_days)
    year = release_date.year
    total_s = sum(duration for _, _, duration in tracks)
    entries = [
        TrackEntry(
            position=index,
            title=track_title,
            isrc=isrc,
            duration_s=round(duration, 3),
            audio_file=f"audio/{index:02d}_{isrc.replace('-', '')}.wav",
        )
        for index, (track_title, isrc, duration) in enumerate(tracks, start=1)
    ]
    return ReleasePlan(
        partition_date=partition_date,
        release_date=release_date.isoformat(),
        title=title,
        upc=upc,
        artist=settings.artist,
        label=settings.label,
        genre=settings.genre,
        subgenre=settings.subgenre,
        # Stores' rule of thumb: up to 3 tracks under 30 minutes is a single, more is an EP.
        release_type="Single" if len(tracks) <= 3 and total_s < 1800 else "EP",
        p_line=f"℗ {year} {settings.label}",
        c_line=f"© {year} {settings.label}",
        explicit=False,
        language=settings.language,
        ai_generated=True,
        ai_disclosure=AI_DISCLOSURE,
        tracks=entries,
    )


def _text_problems(field_name: str, text: str, one_line: bool = True) -> list[str]:
    found = []
    if is_blank(text):  # nothing visible: U+200B or U+3164 alone is empty too
        found.append(f"{field_name} is empty")
    bad = NOT_XML_CHARS.findall(text) + (LINE_BREAKS.findall(text) if one_line else [])
    if bad:
        codes = ", ".join(sorted({f"U+{ord(c):04X}" for c in bad}))
        found.append(
            f"{field_name} {text[:40]!r} holds characters a DDEX message or bulk sheet cannot "
            f"carry ({codes}): remove them"
        )
    return found


# What a store refuses a release without (the DDEX message and bulk sheet both carry them).
REQUIRED_FIELDS = ("title", "upc", "artist", "label", "genre", "release_date", "p_line", "c_line")


def metadata_problems(plan: ReleasePlan, party_ids: Sequence[str] = ()) -> list[str]:
    """``REQUIRED_FIELDS`` left empty (by name), then ``release_problems``: what the
    ``metadata_complete`` check lists; empty when the release can be delivered."""
    fields = vars(plan)
    missing = [name for name in REQUIRED_FIELDS if not str(fields[name]).strip()]
    return missing + release_problems(plan, party_ids)


def release_problems(plan: ReleasePlan, party_ids: Sequence[str] = ()) -> list[str]:
    """Every way ``plan`` breaks the stores' formats; empty when it can be delivered.

    Checked: the UPC is a UPC-A or EAN-13 with its GS1 check digit; each ISRC is
    ``CC-XXX-YY-NNNNN`` with a known country code (ISO 3901) and no ISRC is on two tracks;
    ``party_ids`` are DDEX party ids (``PADPIDA`` + 11 characters); every title and name is
    present and holds only characters XML 1.0 allows, on one line; durations are positive.
    """
    found = []
    try:
        parse_product_code(plan.upc)
    except InvalidProductCodeError as error:
        found.append(str(error))
    if not plan.tracks:
        found.append("the release has no tracks")
    isrcs = [track.isrc for track in plan.tracks]
    for track in plan.tracks:
        if not valid_isrc(track.isrc):
            found.append(
                f"track {track.position}: ISRC {track.isrc!r} is not CC-XXX-YY-NNNNN with an "
                "ISO 3166-1 or ISRC-agency country code (ISO 3901)"
            )
        if isrcs.count(track.isrc) > 1:
            found.append(f"track {track.position}: ISRC {track.isrc} is on another track too")
        if track.duration_s <= 0:
            found.append(f"track {track.position}: duration {track.duration_s} s is not positive")
        found += _text_problems(f"track {track.position} title", track.title)
    for name in ("title", "artist", "label", "genre", "subgenre", "p_line", "c_line"):
        found += _text_problems(name, getattr(plan, name))
    found += _text_problems("ai_disclosure", plan.ai_disclosure, one_line=False)
    for party_id in party_ids:
        if not DPID_PATTERN.fullmatch(party_id):
            found.append(
                f"DDEX party id {party_id!r} is not PADPIDA followed by 11 letters or digits "
                "(18 characters, no hyphens): use the DPID DDEX allocated you"
            )
    return found


# -- audio -----------------------------------------------------------------------------------
def recording_sha256(master: Path, position: int) -> str:
    """SHA-256 of the master's decoded samples (rate, shape, float32 frames): the recording's
    identity for its ISRC. The sound, not the file: a header or tag change does not make a
    new recording.

    Raises:
        DistributionError: the master is missing or not a readable stereo 44.1 kHz WAV.
    """
    try:
        audio, rate = read_wav(master, expected_rate_hz=SAMPLE_RATE_HZ)
    except AudioFileError as error:
        raise DistributionError(f"Track {position}: {error}") from error
    digest = hashlib.sha256(f"{rate}:{audio.shape[0]}:{audio.shape[1]}:".encode())
    digest.update(np.ascontiguousarray(audio, dtype="<f4").tobytes())
    return digest.hexdigest()


def tpdf_dither_to_int16(audio: np.ndarray, seed: int) -> np.ndarray:
    """(channels, samples) float in [-1, 1] → int16 with triangular dither of ±1 LSB."""
    rng = np.random.default_rng(seed)
    scale = 32767.0
    noise = rng.random(audio.shape, dtype=np.float32) - rng.random(audio.shape, dtype=np.float32)
    quantized = np.round(audio * scale + noise)
    return np.clip(quantized, -32768, 32767).astype(np.int16)


def write_store_wav(master: Path, out: Path, plan: ReleasePlan, track: TrackEntry) -> float:
    """The master as 16-bit/44.1 kHz with the track's tags; returns its true peak (dBTP)."""
    try:
        audio, rate = read_wav(master, expected_rate_hz=SAMPLE_RATE_HZ)
    except AudioFileError as error:
        raise DistributionError(f"Track {track.position}: {error}") from error
    samples = tpdf_dither_to_int16(audio, stable_seed("dither", track.isrc))
    peak = true_peak_dbtp(samples.astype(np.float32) / 32768.0)
    if peak > MAX_TRUE_PEAK_DBTP:
        raise DistributionError(
            f"Track {track.position} peaks at {peak:.2f} dBTP after dither (max "
            f"{MAX_TRUE_PEAK_DBTP}): re-master it with a lower ceiling"
        )
    with atomic_path(out) as temporary:
        with wav_file(
            temporary,
            "w",
            expected_frames=samples.shape[1],
            samplerate=rate,
            channels=2,
            subtype="PCM_16",
            format="WAV",
        ) as wav:
            wav.write(samples.T)  # a full disk: DiskFullError naming the file and size
        tagged = WAVE(str(temporary))
        tagged.add_tags()
        tagged.tags.add(TSRC(encoding=3, text=[track.isrc_compact]))
        tagged.tags.add(TIT2(encoding=3, text=[track.title]))
        tagged.tags.add(TPE1(encoding=3, text=[plan.artist]))
        tagged.tags.add(TALB(encoding=3, text=[plan.title]))
        tagged.tags.add(TRCK(encoding=3, text=[f"{track.position}/{len(plan.tracks)}"]))
        tagged.save(padding=lambda info: 0)  # no random padding: same input, same bytes
    return peak


def store_wav_facts(path: Path) -> dict:
    """What the audio check reads back: format, rate, channels, true peak, the ISRC tag."""
    with wav_file(path) as info:  # refuses a file cut short
        audio = info.read(dtype="float32", always_2d=True)
    tags = WAVE(str(path)).tags
    return {
        "subtype": info.subtype,
        "sample_rate_hz": info.samplerate,
        "channels": info.channels,
        "true_peak_dbtp": round(true_peak_dbtp(np.ascontiguousarray(audio.T)), 2),
        "isrc_tag": str(tags["TSRC"].text[0]) if tags and "TSRC" in tags else "",
    }


# -- artwork ---------------------------------------------------------------------------------
def artwork_problems(path: Path) -> list[str]:
    if not path.is_file():
        return [f"no cover at {path}"]
    with Image.open(path) as image:
        found = []
        if image.format != "JPEG":
            found.append(f"cover is {image.format}, not JPEG")
        if image.mode != "RGB":
            found.append(f"cover is {image.mode}, not RGB (no alpha, no CMYK)")
        if image.size != (COVER_PX, COVER_PX):
            found.append(f"cover is {image.size[0]}×{image.size[1]}, stores want 3000×3000")
    return found


# -- metadata --------------------------------------------------------------------------------
def manifest_document(plan: ReleasePlan, files: dict[str, str]) -> dict:
    return {"release": asdict(plan), "files": dict(sorted(files.items()))}


CSV_COLUMNS = (
    "release_title",
    "upc",
    "release_date",
    "release_type",
    "primary_artist",
    "label",
    "genre",
    "subgenre",
    "p_line",
    "c_line",
    "track_number",
    "track_title",
    "isrc",
    "duration",
    "explicit",
    "language",
    "ai_generated",
    "audio_file",
    "artwork_file",
)


def bulk_csv(plan: ReleasePlan) -> bytes:
    """One row per track, the columns distributor bulk-upload sheets ask for."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for track in plan.tracks:
        writer.writerow(
            {
                "release_title": plan.title,
                "upc": plan.upc,
                "release_date": plan.release_date,
                "release_type": plan.release_type,
                "primary_artist": plan.artist,
                "label": plan.label,
                "genre": plan.genre,
                "subgenre": plan.subgenre,
                "p_line": plan.p_line,
                "c_line": plan.c_line,
                "track_number": track.position,
                "track_title": track.title,
                "isrc": track.isrc,
                "duration": timestamp(track.duration_s),
                "explicit": "no",
                "language": plan.language,
                "ai_generated": "yes",
                "audio_file": track.audio_file,
                "artwork_file": plan.artwork_file,
            }
        )
    return buffer.getvalue().encode("utf-8")


def _iso_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"PT{minutes}M{secs}S"


def ern_message(plan: ReleasePlan, sender_party_id: str, recipient_party_id: str) -> bytes:
    """A DDEX ERN 4.3-style NewReleaseMessage: header, resources, the release and its deals."""
    ern = f"{{{ERN_NAMESPACE}}}"

    def sub(parent, tag, text=None, **attributes):
        element = etree.SubElement(parent, tag, **attributes)
        if text is not None:
            element.text = str(text)
        return element

    root = etree.Element(
        f"{ern}NewReleaseMessage",
        nsmap={"ern": ERN_NAMESPACE},
        AvsVersionId="4",
        LanguageAndScriptCode="en",
    )
    header = sub(root, "MessageHeader")
    sub(header, "MessageThreadId", f"{plan.upc}-{plan.partition_date}")
    sub(header, "MessageId", f"{plan.upc}-{plan.partition_date}-1")
    sender = sub(header, "MessageSender")
    sub(sender, "PartyId", sender_party_id)
    sub(sub(sender, "PartyName"), "FullName", plan.label)
    recipient = sub(header, "MessageRecipient")
    sub(recipient, "PartyId", recipient_party_id)
    # The day the bundle was made for, not the wall clock: the message is reproducible.
    sub(header, "MessageCreatedDateTime", f"{plan.partition_date}T00:00:00Z")
    sub(header, "MessageControlType", "LiveMessage")

    parties = sub(root, "PartyList")
    artist = sub(parties, "Party")
    sub(artist, "PartyReference", "PArtist")
    sub(sub(artist, "PartyName"), "FullName", plan.artist)
    label = sub(parties, "Party")
    sub(label, "PartyReference", "PLabel")
    sub(sub(label, "PartyName"), "FullName", plan.label)

    resources = sub(root, "ResourceList")
    for track in plan.tracks:
        recording = sub(resources, "SoundRecording")
        sub(recording, "ResourceReference", f"A{track.position}")
        sub(recording, "Type", "MusicalWorkSoundRecording")
        edition = sub(recording, "SoundRecordingEdition")
        sub(sub(edition, "ResourceId"), "ISRC", track.isrc_compact)
        sub(recording, "DisplayTitleText", track.title)
        sub(recording, "DisplayArtistName", plan.artist)
        sub(recording, "Duration", _iso_duration(track.duration_s))
        sub(recording, "ParentalWarningType", "NotExplicit")
        sub(recording, "LanguageOfPerformance", plan.language)
        sub(recording, "IsInstrumental", "true")
        file_element = sub(sub(recording, "TechnicalDetails"), "File")
        sub(file_element, "URI", track.audio_file)
        sub(sub(file_element, "HashSum"), "HashSumValue", track.sha256)
    image = sub(resources, "Image")
    sub(image, "ResourceReference", "A0")
    sub(image, "Type", "FrontCoverImage")
    image_file = sub(sub(image, "TechnicalDetails"), "File")
    sub(image_file, "URI", plan.artwork_file)
    sub(sub(image_file, "HashSum"), "HashSumValue", plan.artwork_sha256)

    releases = sub(root, "ReleaseList")
    release = sub(releases, "Release")
    sub(release, "ReleaseReference", "R0")
    sub(release, "ReleaseType", plan.release_type)
    sub(sub(release, "ReleaseId"), "ICPN", plan.upc)
    sub(release, "DisplayTitleText", plan.title)
    sub(release, "DisplayArtistName", plan.artist)
    sub(release, "ReleaseLabelReference", "PLabel")
    sub(release, "PLine", plan.p_line)
    sub(release, "CLine", plan.c_line)
    sub(sub(release, "Genre"), "GenreText", plan.genre)
    sub(release, "ParentalWarningType", "NotExplicit")
    sub(release, "IsAiGenerated", "true")
    group = sub(release, "ResourceGroup")
    for track in plan.tracks:
        item = sub(group, "ResourceGroupContentItem")
        sub(item, "SequenceNumber", track.position)
        sub(item, "ReleaseResourceReference", f"A{track.position}")
    sub(release, "LinkedReleaseResourceReference", "A0")

    deals = sub(root, "DealList")
    release_deal = sub(deals, "ReleaseDeal")
    sub(release_deal, "DealReleaseReference", "R0")
    terms = sub(sub(release_deal, "Deal"), "DealTerms")
    sub(terms, "TerritoryCode", "Worldwide")
    for model in ("SubscriptionModel", "AdvertisementSupportedModel", "PayAsYouGoModel"):
        sub(terms, "CommercialModelType", model)
    for use in ("Stream", "PermanentDownload"):
        sub(terms, "UseType", use)
    sub(sub(terms, "ValidityPeriod"), "StartDate", plan.release_date)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def checklist(plan: ReleasePlan) -> bytes:
    """What a person does in a distributor's web form (DistroKid has no API)."""
    lines = [
        f"Streaming release {plan.title!r} — status: awaiting_manual",
        "",
        f"1. New upload: {plan.release_type}, {len(plan.tracks)} track(s), release date "
        f"{plan.release_date} (stores need the lead time).",
        f"2. Artist: {plan.artist}. Label: {plan.label}. Genre: {plan.genre} / {plan.subgenre}.",
        f"3. UPC: {plan.upc} (enter it; do not let the distributor assign another).",
        "4. Tracks (upload the WAVs from audio/, enter each ISRC exactly):",
        *[
            f"   {t.position}. {t.title} — {t.isrc} — {timestamp(t.duration_s)} — {t.audio_file}"
            for t in plan.tracks
        ],
        f"5. Artwork: {plan.artwork_file} (3000×3000 RGB JPEG).",
        "6. Explicit: no. Language: instrumental. Cover songs: none.",
        "7. AI disclosure: tick 'AI-generated' where asked. " + plan.ai_disclosure,
        f"8. Copyright lines: {plan.p_line} / {plan.c_line}.",
        "9. After submitting, record the distributor's release id next to this bundle.",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


@dataclass(frozen=True)
class Bundle:
    folder: Path
    plan: ReleasePlan
    manifest_sha256: str
    files: dict[str, str]  # relative path → SHA-256
    true_peaks_dbtp: list[float]


def build_bundle(
    folder: Path,
    plan: ReleasePlan,
    masters: Sequence[Path],
    cover: Path,
    sender_party_id: str,
    recipient_party_id: str = "PADPIDA2014120301U",
) -> Bundle:
    """Write the whole bundle into ``folder`` (an empty staging folder the caller swaps in)."""
    if len(masters) != len(plan.tracks):
        raise DistributionError(f"{len(masters)} masters for {len(plan.tracks)} tracks")
    for master, track in zip(masters, plan.tracks, strict=True):
        if not master.is_file():
            raise DistributionError(
                f"Track {track.position}: the master {master} is missing; materialize "
                "mastered_wav for that slot first"
            )
    problems = artwork_problems(cover)
    if problems:
        raise DistributionError(f"The cover cannot go to stores: {'; '.join(problems)}")
    problems = release_problems(plan, [sender_party_id, recipient_party_id])
    if problems:
        raise DistributionError(f"The release cannot go to stores: {'; '.join(problems)}")
    peaks = []
    tracks = []
    for master, track in zip(masters, plan.tracks, strict=True):
        out = folder / track.audio_file
        out.parent.mkdir(parents=True, exist_ok=True)
        peaks.append(write_store_wav(master, out, plan, track))
        tracks.append(TrackEntry(**{**asdict(track), "sha256": sha256_of(out)}))
    artwork = folder / plan.artwork_file
    artwork.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(artwork, cover.read_bytes())
    plan = ReleasePlan(**{**asdict(plan), "tracks": tracks, "artwork_sha256": sha256_of(artwork)})
    write_bytes_atomic(folder / CSV_FILE, bulk_csv(plan))
    write_bytes_atomic(folder / ERN_FILE, ern_message(plan, sender_party_id, recipient_party_id))
    write_bytes_atomic(folder / CHECKLIST_FILE, checklist(plan))
    files = {
        path.relative_to(folder).as_posix(): sha256_of(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST_FILE
    }
    manifest = write_json_atomic(folder / MANIFEST_FILE, manifest_document(plan, files))
    return Bundle(folder, plan, sha256_of(manifest), files, peaks)


def bundle_problems(folder: Path) -> list[str]:
    """Every file the manifest lists exists with its checksum, and nothing else is there."""
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        return ["no manifest.json"]
    listed = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    found = []
    present = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_FILE
    }
    for name in sorted(set(listed) | present):
        if name not in present:
            found.append(f"{name} is missing")
        elif name not in listed:
            found.append(f"{name} is not in the manifest")
        elif sha256_of(folder / name) != listed[name]:
            found.append(f"{name} does not match its checksum")
    return found
