"""Catalog group, weekly: the week's tracks as packs (issue 18 §2): MIDI, stems (FLAC) and
samples (drum one-shots and 2/4-bar loops), each a zip with a manifest, licence and preview.

Like ``weekly_mix``, a pack reads the week's finished tracks through the artifact store (every
date × slot whose records exist), so a week with missing days still has its packs. Each pack
is built and judged in a staging folder: a pack failing a blocking check never replaces the
week's previous one.
"""

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

from lofi_assets.audio.long_form import week_dates
from lofi_assets.audio.wav import read_wav
from lofi_assets.catalog.drum_kit import write_drum_kit
from lofi_assets.catalog.licence import CREATOR_LICENCE, SOUNDFONT_NOTICE, one_shot_source
from lofi_assets.catalog.packs import (
    BuiltPack,
    PackError,
    PackMember,
    build_pack,
    licence_text,
    manifest_problems,
)
from lofi_assets.catalog.samples import (
    CLIPPING_CEILING_DBFS,
    LOOP_LENGTH_TOLERANCE_MS,
    LOOP_LOUDNESS_RANGE_LUFS,
    clipping_problems,
    cut_loops,
    cut_one_shots,
    loop_length_problems,
    loudness_problems,
    measure_loop,
    peak_dbfs,
    slug,
)
from lofi_assets.catalog.site import SiteSettings, encode_preview, publish_pack, write_index
from lofi_assets.defs.assets.catalog import SITE_FOLDER
from lofi_assets.defs.assets.common import ALL_SLOTS_OF_THE_DAY, judge_staged
from lofi_assets.defs.assets.long_form import week_masters
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.io import RECORD_FILE
from lofi_assets.defs.partitions import release_weeks, track_partition_key
from lofi_assets.defs.pools import RENDER_POOL
from lofi_assets.defs.records import (
    MasterRecord,
    PackRecord,
    SketchRecord,
    StemsRecord,
    record_from_document,
)
from lofi_assets.defs.resources import ArtifactStore, ChannelConfig, SoundFontResource
from lofi_assets.music.plan_record import PlanRecord, read_plan_record
from lofi_assets.storage import atomic_directory
from lofi_assets.visual.video import tool

PACKS_VERSION = "1"
FILES_FOLDER = "files"  # the pack's own files while it is staged (removed once zipped)
PREVIEW_S = 30.0
LOOP_STEMS = ("drums", "bass", "keys")
# One type object for the three packs: Dagster wants one type per name in a job.
PACK_RECORD_TYPE = dg.PythonObjectDagsterType(PackRecord)


@dataclass(frozen=True)
class WeekTrack:
    """A finished track of the week: ``name`` ``<date>_<slot>_<style>_<bpm>bpm_<key>``."""

    key: str  # "<date>|<slot>"
    master: MasterRecord
    sketch: SketchRecord
    plan: PlanRecord
    name: str

    @property
    def title(self) -> str:
        return f"{self.plan.style_display_name} in {self.plan.key}, {self.plan.bpm:g} BPM"


def _week_tracks(store: ArtifactStore, week: str, slots: tuple[str, ...]) -> list[WeekTrack]:
    tracks = []
    for key, master, sketch in week_masters(store, week_dates(week), slots):
        plan = read_plan_record(store.resolve(sketch.plan_path))
        date, slot = key.split("|")
        name = f"{date}_{slot}_{slug(plan.style)}_{plan.bpm:g}bpm_{slug(plan.key)}"
        tracks.append(WeekTrack(key, master, sketch, plan, name))
    return tracks


def _stems_of(store: ArtifactStore, key: str) -> StemsRecord | None:
    path = store.partition_dir("stems", track_partition_key(*key.split("|"))) / RECORD_FILE
    if not path.is_file():
        return None
    record = record_from_document(store.read_json(store.relative(path)))
    return record if isinstance(record, StemsRecord) else None


def _week_stems(
    store: ArtifactStore, week: str, channel: ChannelConfig, pack: str
) -> list[tuple[WeekTrack, StemsRecord]]:
    """The week's finished tracks that have their stems, with them, in calendar order.

    Raises:
        dg.Failure: the week has none.
    """
    found = []
    for track in _week_tracks(store, week, channel.settings().slots):
        stems = _stems_of(store, track.key)
        if stems is not None:
            found.append((track, stems))
    _require_tracks([track for track, _ in found], pack, week)
    return found


def _manifest_check(pack: BuiltPack) -> dg.AssetCheckResult:
    problems = manifest_problems(pack.zip_path)
    return dg.AssetCheckResult(
        check_name="manifest_matches",
        passed=not problems,
        metadata={"files": len(pack.manifest["files"]), "problems": problems[:10]},
    )


def _manifest_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        "manifest_matches", asset=asset, blocking=True,
        description="Every file of the zip is in its manifest with the same SHA-256, and a "
        "licence file is there",
    )  # fmt: skip


MIDI_PACK_CHECK_SPECS = [_manifest_spec("midi_pack")]
STEM_PACK_CHECK_SPECS = [_manifest_spec("stem_pack")]
SAMPLE_PACK_CHECK_SPECS = [
    _manifest_spec("sample_pack"),
    dg.AssetCheckSpec(
        "loops_whole_bars", asset="sample_pack", blocking=True,
        description=f"Every loop lasts a whole number of bars at its tempo, "
        f"±{LOOP_LENGTH_TOLERANCE_MS:g} ms",
    ),
    dg.AssetCheckSpec(
        "no_clipping", asset="sample_pack", blocking=True,
        description=f"No sample reaches {CLIPPING_CEILING_DBFS:g} dBFS",
    ),
    dg.AssetCheckSpec(
        "loop_loudness_in_range", asset="sample_pack", blocking=True,
        description=f"Every loop's integrated loudness is within "
        f"{LOOP_LOUDNESS_RANGE_LUFS[0]:g}…{LOOP_LOUDNESS_RANGE_LUFS[1]:g} LUFS",
    ),
]  # fmt: skip


def sample_pack_check_results(pack: BuiltPack, files: Path) -> list[dg.AssetCheckResult]:
    """The sample pack's checks, on its staged ``files`` folder and zip (the loops' tempos
    from the manifest's ``samples``)."""
    samples = pack.manifest["samples"]
    loops = [measure_loop(files / s["file"], s["bpm"]) for s in samples if s["kind"] == "loop"]
    peaks = {m.name: m.peak_dbfs for m in loops}
    for sample in samples:
        if sample["kind"] != "loop":
            peaks[sample["file"]] = peak_dbfs(read_wav(files / sample["file"])[0])
    length, clipping, loudness = (
        loop_length_problems(loops), clipping_problems(peaks), loudness_problems(loops)
    )  # fmt: skip
    return [
        _manifest_check(pack),
        dg.AssetCheckResult(
            check_name="loops_whole_bars", passed=bool(loops) and not length,
            metadata={"loops": len(loops), "worst_error_ms": round(
                max((m.bars_error_ms for m in loops), default=0.0), 4), "problems": length[:10]},
        ),
        dg.AssetCheckResult(
            check_name="no_clipping", passed=not clipping,
            metadata={"peak_dbfs": round(max(peaks.values(), default=-120.0), 2),
                      "problems": clipping[:10]},
        ),
        dg.AssetCheckResult(
            check_name="loop_loudness_in_range", passed=not loudness,
            metadata={"loudest_lufs": round(max((m.loudness_lufs for m in loops), default=-70), 1),
                      "quietest_lufs": round(min((m.loudness_lufs for m in loops), default=-70), 1),
                      "problems": loudness[:10]},
        ),
    ]  # fmt: skip


def _pack_options(from_tracks: bool = True) -> dict:
    return {
        "group_name": "catalog",
        "code_version": PACKS_VERSION,
        "partitions_def": release_weeks,
        "io_manager_key": "record_io_manager",
        "dagster_type": PACK_RECORD_TYPE,
        "backfill_policy": dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        # Lineage: the week's tracks (read through the store, see the module docstring).
        "deps": [
            dg.AssetDep(name, partition_mapping=ALL_SLOTS_OF_THE_DAY)
            for name in ("midi_sketch", "stems", "mastered_wav")
            if from_tracks
        ],
    }


def _finish(
    context: dg.AssetExecutionContext,
    store: ArtifactStore,
    name: str,
    week: str,
    pack: BuiltPack,
    tracks: list[WeekTrack],
    check_results: list[dg.AssetCheckResult],
    channel: ChannelConfig,
) -> dg.MaterializeResult:
    zip_path = store.partition_dir(name, week) / pack.zip_path.name
    # Published on the listening-room site once it passed its checks: its packs page lists it.
    settings = channel.settings()
    site = SiteSettings(settings.name, settings.artist, channel.site_url)
    with domain_failures(store.root):
        site_path = publish_pack(store.root / SITE_FOLDER, week, zip_path)
        write_index(store.root / SITE_FOLDER, site)
    context.log.info(f"{name} {week}: {len(pack.manifest['files'])} files, {pack.size_bytes} B")
    return dg.MaterializeResult(
        value=PackRecord(
            zip_path=store.relative(zip_path),
            files=len(pack.manifest["files"]),
            size_bytes=pack.size_bytes,
            tracks=[t.key for t in tracks],
            licence_id=pack.manifest["licence_id"],
        ),
        metadata={
            "zip_path": dg.MetadataValue.path(str(zip_path)),
            "files": dg.MetadataValue.int(len(pack.manifest["files"])),
            "size_mb": dg.MetadataValue.float(round(pack.size_bytes / 1e6, 2)),
            "tracks": dg.MetadataValue.int(len(tracks)),
            "licence": pack.manifest["licence_id"],
            "download": dg.MetadataValue.url(site.url_of(site_path)),
        },
        check_results=check_results,
    )


def _build(
    name: str, week: str, staging: Path, members: list[PackMember], tracks: list[WeekTrack],
    channel: ChannelConfig, readme: str, preview_source: Path, details: dict | None = None,
    notice: str = "",
) -> BuiltPack:  # fmt: skip
    settings = channel.settings()
    titles = [t.title for t in tracks]
    preview = encode_preview(preview_source, staging / "preview.mp3", max_duration_s=PREVIEW_S)
    track_rows = [
        {"track": t.key, "title": t.title, "style": t.plan.style, "key": t.plan.key,
         "bpm": float(t.plan.bpm), "licence_id": CREATOR_LICENCE.licence_id}
        for t in tracks
    ]  # fmt: skip
    return build_pack(
        staging / f"{name}_{week}.zip", name, week, members, CREATOR_LICENCE,
        licence_text(CREATOR_LICENCE, settings.artist, channel.site_url, titles)
        + (f"\nThird-party notice:\n{notice}\n" if notice else ""),
        readme, preview, {"tracks": track_rows, **(details or {})},
    )  # fmt: skip


def _require_tracks(tracks: list[WeekTrack], name: str, week: str) -> None:
    if not tracks:
        raise dg.Failure(
            f"{name} {week}: no finished track in the week (no mastered_wav and midi_sketch "
            "records of its dates): release a day of the week first"
        )


@dg.asset(kinds={"python", "midi", "zip"}, check_specs=MIDI_PACK_CHECK_SPECS, **_pack_options())
def midi_pack(
    context: dg.AssetExecutionContext, channel: ChannelConfig, artifact_store: ArtifactStore
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The week's MIDI sketches, tempo and key in every file name, with a README and licence."""
    week = str(context.partition_key)
    with domain_failures(artifact_store.root):
        tracks = _week_tracks(artifact_store, week, channel.settings().slots)
        _require_tracks(tracks, "midi_pack", week)
        members = [
            PackMember(f"{t.name}.mid", artifact_store.resolve(t.sketch.midi_path)) for t in tracks
        ]
        readme = "MIDI of the week's tracks: keys, bass, melody, drums (GM channel 10), pad.\n" + (
            "".join(f"  {t.name}.mid: {t.title}, {t.plan.bars} bars\n" for t in tracks)
        )
        with atomic_directory(artifact_store.partition_dir("midi_pack", week)) as staging:
            preview_source = artifact_store.resolve(tracks[0].master.wav_path)
            pack = _build("midi_pack", week, staging, members, tracks, channel, readme,
                          preview_source)  # fmt: skip
            results = [_manifest_check(pack)]
            yield from judge_staged("midi_pack", week, results, MIDI_PACK_CHECK_SPECS)
    yield _finish(context, artifact_store, "midi_pack", week, pack, tracks, results, channel)


@dg.asset(kinds={"python", "flac", "zip"}, check_specs=STEM_PACK_CHECK_SPECS, **_pack_options())
def stem_pack(
    context: dg.AssetExecutionContext, channel: ChannelConfig, artifact_store: ArtifactStore
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The week's stems as FLAC (lossless), a folder per track, with a README and licence."""
    week = str(context.partition_key)
    with domain_failures(artifact_store.root):
        stems_of = _week_stems(artifact_store, week, channel, "stem_pack")
        tracks = [track for track, _ in stems_of]
        with atomic_directory(artifact_store.partition_dir("stem_pack", week)) as staging:
            members = []
            for track, stems in stems_of:
                for stem, path in sorted(stems.stem_paths.items()):
                    flac = staging / FILES_FOLDER / track.name / f"{stem}.flac"
                    flac.parent.mkdir(parents=True, exist_ok=True)
                    subprocess.run(
                        [tool("ffmpeg"), "-v", "error", "-y", "-i",
                         str(artifact_store.resolve(path)), "-map_metadata", "-1",
                         "-fflags", "+bitexact", "-c:a", "flac", "-sample_fmt", "s32",
                         str(flac)],
                        check=True, capture_output=True,
                    )  # fmt: skip
                    members.append(PackMember(f"{track.name}/{stem}.flac", flac))
            readme = "Stems of the week's tracks (FLAC, 44.1 kHz); they sum to the mix before "
            readme += "mastering.\n" + "".join(f"  {t.name}/: {t.title}\n" for t in tracks)
            preview_source = artifact_store.resolve(tracks[0].master.wav_path)
            pack = _build("stem_pack", week, staging, members, tracks, channel, readme,
                          preview_source)  # fmt: skip
            results = [_manifest_check(pack)]
            yield from judge_staged("stem_pack", week, results, STEM_PACK_CHECK_SPECS)
            shutil.rmtree(staging / FILES_FOLDER)  # in the zip: a second copy would double it
    yield _finish(context, artifact_store, "stem_pack", week, pack, tracks, results, channel)


@dg.asset(kinds={"python", "wav", "zip"}, check_specs=SAMPLE_PACK_CHECK_SPECS, **_pack_options())
def sample_pack(
    context: dg.AssetExecutionContext, channel: ChannelConfig, artifact_store: ArtifactStore
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Drum one-shots (transient detection) and 2/4-bar loops named with BPM and key, cut from
    the week's stems, trimmed, faded and normalized to -1 dBFS."""
    week = str(context.partition_key)
    with domain_failures(artifact_store.root):
        stems_of = _week_stems(artifact_store, week, channel, "sample_pack")
        tracks = [track for track, _ in stems_of]
        with atomic_directory(artifact_store.partition_dir("sample_pack", week)) as staging:
            files = staging / FILES_FOLDER
            samples = []
            one_shot_sources: dict[str, str] = {}
            for track, stems in stems_of:
                folder = files / track.name
                folder.mkdir(parents=True)
                plan = track.plan
                for stem in LOOP_STEMS:
                    samples += cut_loops(
                        artifact_store.resolve(stems.stem_paths[stem]), stem, folder,
                        style=plan.style, bpm=float(plan.bpm), key=plan.key,
                    )  # fmt: skip
                source = one_shot_source(plan.drum_kit.program)
                one_shot_sources[track.key] = source.reason
                if source.allowed:
                    samples += cut_one_shots(
                        artifact_store.resolve(stems.stem_paths["drums"]), folder, track.name
                    )
                else:
                    context.log.info(f"{track.key}: {source.reason}")
            rows = [
                {"file": s.path.relative_to(files).as_posix(), "kind": s.kind, "stem": s.stem,
                 "bpm": s.bpm, "bars": s.bars, "key": s.key, "duration_s": round(s.duration_s, 6)}
                for s in samples
            ]  # fmt: skip
            members = [PackMember(row["file"], files / row["file"]) for row in rows]
            readme = (
                "Loops (2 and 4 bars, named style_BPM_key_stem_bars) and drum one-shots from the "
                "week's stems; 44.1 kHz 24-bit WAV, peak-normalized to -1 dBFS.\n"
            )
            if not samples:
                raise PackError(
                    f"sample_pack {week}: no loop could be cut (every track shorter than "
                    "5 bars, or its stems silent): release longer tracks this week"
                )
            loops = [s for s in samples if s.kind == "loop"]
            preview_source = loops[0].path if loops else samples[0].path
            shots = any(row["kind"] == "one_shot" for row in rows)
            details = {"samples": rows, "one_shot_sources": one_shot_sources}
            pack = _build("sample_pack", week, staging, members, tracks, channel, readme,
                          preview_source, details, SOUNDFONT_NOTICE if shots else "")  # fmt: skip
            results = sample_pack_check_results(pack, files)
            yield from judge_staged("sample_pack", week, results, SAMPLE_PACK_CHECK_SPECS)
    yield _finish(context, artifact_store, "sample_pack", week, pack, tracks, results, channel)


DRUM_KIT_CHECK_SPECS = [
    _manifest_spec("drum_kit"),
    dg.AssetCheckSpec(
        "no_clipping", asset="drum_kit", blocking=True,
        description=f"No one-shot reaches {CLIPPING_CEILING_DBFS:g} dBFS",
    ),
]  # fmt: skip


@dg.asset(
    kinds={"python", "wav", "zip"},
    check_specs=DRUM_KIT_CHECK_SPECS,
    pool=RENDER_POOL,
    **_pack_options(from_tracks=False),
)
def drum_kit(
    context: dg.AssetExecutionContext,
    channel: ChannelConfig,
    soundfont: SoundFontResource,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """One-shots of the drum kits the channel plays, only from sources whose licence allows
    redistribution (each kit's verdict and licence in the manifest and LICENCE.txt)."""
    week = str(context.partition_key)
    target = artifact_store.partition_dir("drum_kit", week)
    with domain_failures(artifact_store.root), atomic_directory(target) as staging:
        files, verdicts = write_drum_kit(staging / FILES_FOLDER, soundfont.resolve())
        for verdict in verdicts:
            shipped = "ships" if verdict.shipped else "skipped"
            context.log.info(f"kit {verdict.program}: {verdict.source}: {shipped}")
        if not files:
            raise PackError(
                f"drum_kit {week}: no kit may ship: "
                + "; ".join(v.source for v in verdicts)
                + " (install musescore-general-soundfont or fluid-soundfont-gm)"
            )
        members = [PackMember(f.relative_to(staging / FILES_FOLDER).as_posix(), f) for f in files]
        readme = "Drum one-shots, a folder per kit, one WAV per key (44.1 kHz 24-bit, -1 dBFS).\n"
        kits = [asdict(v) for v in verdicts]
        pack = _build("drum_kit", week, staging, members, [], channel, readme, files[0],
                      {"kits": kits}, SOUNDFONT_NOTICE)  # fmt: skip
        peaks = {m.arcname: peak_dbfs(read_wav(m.source)[0]) for m in members}
        clipping = clipping_problems(peaks)
        results = [
            _manifest_check(pack),
            dg.AssetCheckResult(
                check_name="no_clipping", passed=not clipping,
                metadata={"peak_dbfs": round(max(peaks.values()), 2),
                          "problems": clipping[:10]},
            ),
        ]  # fmt: skip
        yield from judge_staged("drum_kit", week, results, DRUM_KIT_CHECK_SPECS)
        shutil.rmtree(staging / FILES_FOLDER)
    yield _finish(context, artifact_store, "drum_kit", week, pack, [], results, channel)


PACK_ASSETS = [midi_pack, stem_pack, sample_pack, drum_kit]
