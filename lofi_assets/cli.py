"""The ``lofi`` command: one-off sketches, today's release, instance setup.

Thin over the domain code; only ``release`` and ``pools`` touch Dagster (imported lazily so
``lofi sketch`` starts fast).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from lofi_assets.channel import CHANNEL_START_ENV, Channel, channel_timezone
from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.midi_io import write_sketch_midi
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.plan_record import read_plan_record, record_sketch
from lofi_assets.music.styles import load_styles
from lofi_assets.storage import write_json_atomic


def _parse_date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError as error:
        raise ConfigError(f"Invalid date {text!r}: use YYYY-MM-DD") from error


def _sketch(args: argparse.Namespace) -> int:
    if args.seed is not None:
        request = SketchRequest(
            seed=args.seed,
            style=args.style,
            tonic=args.tonic,
            mode=args.mode,
            bpm=args.bpm,
            duration_s=args.duration,
        )
    elif args.date is not None:
        request = Channel().sketch_request(
            _parse_date(args.date),
            args.slot,
            style=args.style,
            tonic=args.tonic,
            mode=args.mode,
            bpm=args.bpm,
            duration_s=args.duration,
        )
    else:
        raise ConfigError("Give --seed N, or --date YYYY-MM-DD [--slot S] for a channel track")
    sketch = compose_sketch(request)
    out = Path(args.out)
    write_sketch_midi(sketch, out)
    plan = record_sketch(sketch)
    plan_path = write_json_atomic(out.with_suffix(".plan.json"), plan.to_document())
    print(
        f"wrote {out} ({plan.style_display_name}, {plan.key}, {plan.bpm} BPM, "
        f"{plan.bars} bars, {plan.duration_s:.1f} s) and {plan_path}\n"
        f"  form: {plan.form_summary}\n"
        f"  A: {' – '.join(plan.chords('A'))}\n"
        f"  B: {' – '.join(plan.chords('B'))}"
    )
    return 0


class _ProgressBar:
    """A one-line text progress bar on stderr: ``[#####-----] 3/8 keys``."""

    def __init__(self, total: int, width: int = 24):
        self.total, self.width, self.done = total, width, 0

    def __call__(self, label: str) -> None:
        self.done += 1
        filled = round(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        end = "\n" if self.done >= self.total else ""
        print(
            f"\r[{bar}] {self.done}/{self.total} {label:<20}", end=end, file=sys.stderr, flush=True
        )


def _render(args: argparse.Namespace) -> int:
    from lofi_assets.audio import SAMPLE_RATE_HZ
    from lofi_assets.audio.memory import reuse_freed_memory
    from lofi_assets.audio.production import (
        STEM_NAMES,
        ProductionSettings,
        production_inputs,
        render_master_file,
    )
    from lofi_assets.audio.soundfont import resolve_soundfont
    from lofi_assets.music.analysis import read_midi
    from lofi_assets.music.sketch_files import write_sketch_files
    from lofi_assets.music.styles import get_style

    reuse_freed_memory()
    out = Path(args.out)
    if args.midi:
        midi_path = Path(args.midi)
        plan_path = Path(args.plan) if args.plan else midi_path.with_suffix(".plan.json")
        if not plan_path.is_file():
            raise ConfigError(
                f"No plan at {plan_path}: pass --plan, or make the MIDI with `lofi sketch`"
            )
        summary = read_midi(midi_path)
        plan = read_plan_record(plan_path)
        # Where each part came from: a named track, or a channel and program of a file without
        # the product's track names (a type-0 or DAW export).
        print(
            "parts: " + "; ".join(f"{part} ← {src}" for part, src in summary.part_sources.items()),
            file=sys.stderr,
        )
    elif args.seed is not None:
        sketch = compose_sketch(
            SketchRequest(seed=args.seed, style=args.style, duration_s=args.duration)
        )
        files = write_sketch_files(sketch, out.parent / f"{out.stem}.sketch")
        plan, summary = files.plan, files.summary
    else:
        raise ConfigError("Give --midi FILE (with its plan JSON) or --seed N [--style S]")
    soundfont = resolve_soundfont(args.soundfont)
    settings = ProductionSettings.from_overrides(get_style(plan.style).production)
    print(
        f"rendering {plan.style} {plan.key} at {plan.bpm} BPM with {soundfont.name}",
        file=sys.stderr,
    )
    # The pipeline's streamed path (stems in a temporary folder, then the master written
    # block by block): memory does not grow with the track's length.
    stats = render_master_file(
        production_inputs(summary, plan),
        settings,
        soundfont,
        out,
        SAMPLE_RATE_HZ,
        progress=_ProgressBar(len(STEM_NAMES) + 1),
    )
    print(
        f"wrote {out}: {stats.integrated_lufs:.1f} LUFS, {stats.true_peak_dbtp:.1f} dBTP, "
        f"{stats.samples / SAMPLE_RATE_HZ:.1f} s"
    )
    return 0


def _styles(_: argparse.Namespace) -> int:
    for style in load_styles().values():
        print(
            f"{style.name:<10} {style.display_name:<10} {style.bpm_min}–{style.bpm_max} BPM, "
            f"swing {style.swing_min:.2f}–{style.swing_max:.2f}, "
            f"ambience {', '.join(style.ambience)}"
        )
    return 0


def _instance():
    import dagster as dg

    if not os.environ.get("DAGSTER_HOME"):
        raise ConfigError(
            "DAGSTER_HOME is not set: run `bash scripts/dev.sh release` (it uses ./.dagster_home) "
            "or export DAGSTER_HOME=/path/to/instance"
        )
    return dg.DagsterInstance.get()


def _release(args: argparse.Namespace) -> int:
    from lofi_assets.definitions import defs
    from lofi_assets.defs.partitions import CHANNEL_START_DATE, track_partition_key

    date = (
        _parse_date(args.date)
        if args.date
        else dt.datetime.now(ZoneInfo(channel_timezone())).date().isoformat()
    )
    if date < CHANNEL_START_DATE:  # ISO dates order as strings
        raise ConfigError(
            f"{date} is before the channel's start {CHANNEL_START_DATE} ({CHANNEL_START_ENV}): "
            f"give a later --date, or set {CHANNEL_START_ENV} to an earlier launch day"
        )
    instance = _instance()
    channel = defs.resources["channel"].to_channel()
    quiet: dict = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if args.duration is not None:  # a quick preview release: every track this long
        quiet["ops"] = {"midi_sketch": {"config": {"duration_s": args.duration}}}
    failures = succeeded = 0
    runs = [
        (f"slot {slot}", "daily_tracks_job", track_partition_key(date, slot))
        for slot in channel.slots
    ]
    runs.append(("release", "daily_release_job", date))
    runs.append(("publish", "publish_job", date))
    for index, (label, job_name, partition_key) in enumerate(runs, start=1):
        if failures and job_name != "daily_tracks_job":
            print(f"      {label} skipped: an earlier run failed", flush=True)
            break
        print(f"[{index}/{len(runs)}] {date} {label}: materializing …", flush=True)
        config = quiet if job_name == "daily_tracks_job" else {"loggers": quiet["loggers"]}
        result = defs.resolve_job_def(job_name).execute_in_process(
            partition_key=partition_key,
            instance=instance,
            run_config=config,
            raise_on_error=False,
        )
        if not result.success:
            failures += 1
            print(f"      failed (run {result.run_id}); see the run in the Dagster UI", flush=True)
            continue
        succeeded += 1
        for event in result.get_asset_materialization_events():
            materialization = event.step_materialization_data.materialization
            metadata = materialization.metadata
            summary = ", ".join(
                f"{name}={metadata[name].value}"
                for name in (
                    "style",
                    "key",
                    "bpm",
                    "duration_s",
                    "integrated_lufs",
                    "soundfont",
                    "duration",
                    "tracks",
                    "title",
                    "headline",
                    "mode",
                )
                if name in metadata
            )
            print(f"      {materialization.asset_key.to_user_string()}: {summary}", flush=True)
        evaluations = result.get_asset_check_evaluations()
        failed = [
            f"{e.asset_key.to_user_string()}.{e.check_name}" for e in evaluations if not e.passed
        ]
        passed = len(evaluations) - len(failed)
        print(
            f"      checks: {passed}/{len(evaluations)} passed"
            + (f"; failed: {', '.join(failed)}" if failed else ""),
            flush=True,
        )
    print(f"release {date}: {succeeded}/{len(runs)} runs succeeded into {instance.root_directory}")
    return 1 if succeeded < len(runs) else 0


def _pools(_: argparse.Namespace) -> int:
    from lofi_assets.defs.pools import prepare_pools

    with _instance() as instance:
        for pool, limit in prepare_pools(instance).items():
            print(f"pool {pool}: {limit}")
    return 0


def _auth_youtube(args: argparse.Namespace) -> int:
    from lofi_assets.publish.youtube import (
        CLIENT_SECRETS_ENV,
        TOKEN_FILE_ENV,
        run_installed_app_flow,
    )

    secrets = args.client_secrets or os.environ.get(CLIENT_SECRETS_ENV)
    token = args.token_file or os.environ.get(TOKEN_FILE_ENV)
    if not secrets or not token:
        raise ConfigError(
            f"Name the OAuth client file (--client-secrets or {CLIENT_SECRETS_ENV}) and where "
            f"to write the token (--token-file or {TOKEN_FILE_ENV})"
        )
    path = run_installed_app_flow(Path(secrets), Path(token), port=args.port)
    print(f"token written to {path} (mode 0600); export {TOKEN_FILE_ENV}={path} to publish live")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lofi", description="lofi-empire command line")
    commands = parser.add_subparsers(dest="command", required=True)

    sketch = commands.add_parser("sketch", help="compose one MIDI sketch to a file")
    sketch.add_argument(
        "--out", required=True, help="MIDI file to write (plan JSON goes beside it)"
    )
    sketch.add_argument("--seed", type=int, help="seed for every random choice")
    sketch.add_argument("--date", help="compose the channel's track for this date instead")
    sketch.add_argument("--slot", default="1", help="track slot with --date (default 1)")
    sketch.add_argument("--style", help="style preset (see `lofi styles`)")
    sketch.add_argument("--tonic", help="key tonic, e.g. F# or Bb")
    sketch.add_argument("--mode", help="key mode, e.g. dorian or minor")
    sketch.add_argument("--bpm", type=float, help="tempo (40–200)")
    sketch.add_argument("--duration", type=float, help="target length in seconds")
    sketch.set_defaults(run=_sketch)

    render = commands.add_parser("render", help="render a sketch to a mastered WAV")
    render.add_argument("--out", required=True, help="WAV file to write (44.1 kHz, 24-bit)")
    render.add_argument("--midi", help="a sketch MIDI file (its plan JSON beside it or --plan)")
    render.add_argument("--plan", help="the sketch's plan JSON (default: <midi>.plan.json)")
    render.add_argument("--seed", type=int, help="compose a new sketch from this seed instead")
    render.add_argument("--style", help="style preset with --seed")
    render.add_argument("--duration", type=float, help="target length in seconds with --seed")
    render.add_argument("--soundfont", help="an .sf2 file (default: $LOFI_SOUNDFONT or FluidR3_GM)")
    render.set_defaults(run=_render)

    commands.add_parser("styles", help="list the style presets").set_defaults(run=_styles)

    release = commands.add_parser(
        "release", help="materialize a day's release on the Dagster instance ($DAGSTER_HOME)"
    )
    release.add_argument("--date", help="YYYY-MM-DD (default: today, UTC)")
    release.add_argument("--duration", type=float, help="track length in seconds (a quick preview)")
    release.set_defaults(run=_release)

    commands.add_parser(
        "pools", help="set every concurrency pool's limit on the Dagster instance (before it runs)"
    ).set_defaults(run=_pools)

    auth = commands.add_parser("auth", help="authorize a service for publishing")
    auth.add_argument("service", choices=["youtube"])
    auth.add_argument("--client-secrets", help="OAuth desktop client JSON from Google Cloud")
    auth.add_argument("--token-file", help="where to write the token (mode 0600)")
    auth.add_argument("--port", type=int, default=0, help="local redirect port (0: any free one)")
    auth.set_defaults(run=_auth_youtube)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except LofiError as error:
        print(f"lofi: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
