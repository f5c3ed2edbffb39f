"""The ``lofi`` command: one-off sketches, today's release, instance setup.

Thin over the domain code; only ``release`` and ``pools`` touch Dagster (imported lazily so
``lofi sketch`` starts fast).

Every failure ends in one line on stderr, ``lofi: error: …``, that names the fix, with secrets
masked (:func:`lofi_assets.redaction.redact`). Exit codes: 0 done; 2 bad input (a usage error,
a LofiError, a path that does not exist or cannot be written); 1 anything else (an unreachable
service, a full disk, a failed run, a bug). A bug's line says where its traceback was written;
``LOFI_DEBUG=1`` prints the traceback instead.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import errno
import os
import re
import sys
import tempfile
import traceback
import unicodedata
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

from lofi_assets.channel import CHANNEL_START_ENV, Channel, channel_timezone
from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.midi_io import write_sketch_midi
from lofi_assets.music.plan import SketchRequest, resolve_plan, validate_request
from lofi_assets.music.plan_record import read_plan_record, record_sketch
from lofi_assets.music.styles import load_styles
from lofi_assets.redaction import redact
from lofi_assets.storage import write_json_atomic

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
DEBUG_ENV = "LOFI_DEBUG"
# A path given on the command line that is missing, or not what it must be: the user's to fix.
BAD_PATH_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
    }
)


ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")  # ISO 8601's calendar date, extended form


def _parse_date(text: str) -> str:
    """``text`` as a YYYY-MM-DD day (ISO 8601 calendar date, extended form).

    Raises ConfigError: not in that form ("use YYYY-MM-DD"), or in it but not a day of the
    calendar (the month's length in that year is named).
    """
    match = ISO_DAY.fullmatch(text.strip())
    if match is None:
        raise ConfigError(f"Invalid date {text!r}: use YYYY-MM-DD, e.g. 2026-03-14")
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        raise ConfigError(f"{text} is not a day: months run from 01 to 12 (use YYYY-MM-DD)")
    if year < dt.MINYEAR:
        raise ConfigError(f"{text} is not a day: years start at 0001 (use YYYY-MM-DD)")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise ConfigError(
            f"{text} is not a day ({calendar.month_name[month]} has {days} days in {year})"
        )
    return dt.date(year, month, day).isoformat()


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
    soundfont = resolve_soundfont(args.soundfont)  # a bad font is refused before any work
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

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise ConfigError(
            "DAGSTER_HOME is not set: run `bash scripts/dev.sh release` (it uses ./.dagster_home) "
            "or export DAGSTER_HOME=/path/to/instance"
        )
    # Dagster's own rule (DagsterInstance.get): an absolute path to an existing folder.
    if not Path(home).is_absolute() or not Path(home).is_dir():
        problem = "is not an absolute path" if not Path(home).is_absolute() else "is not a folder"
        raise ConfigError(
            f"DAGSTER_HOME={home} {problem}: create the folder and export its absolute path "
            "(mkdir -p ~/.dagster_home && export DAGSTER_HOME=~/.dagster_home)"
        )
    return dg.DagsterInstance.get()


def calendar_date(text: str | None) -> str:
    """``text`` (YYYY-MM-DD; None: today in the channel's timezone) as a day of the channel's
    calendar, the ``release_dates`` partitions.

    Raises ConfigError naming the valid range when the day is before the channel's start
    (``LOFI_CHANNEL_START``) or after today: ``end_offset=1`` makes today the last partition.
    """
    from lofi_assets.defs.partitions import release_dates

    timezone = channel_timezone()
    date = _parse_date(text) if text else dt.datetime.now(ZoneInfo(timezone)).date().isoformat()
    # channel_start_date() refuses a start after today, so both keys exist.
    first = release_dates.get_first_partition_key()
    last = release_dates.get_last_partition_key()
    if date < first:  # ISO dates order as strings
        raise ConfigError(
            f"{date} is before the channel's start {first} ({CHANNEL_START_ENV}): give a --date "
            f"from {first} to {last}, or set {CHANNEL_START_ENV} to an earlier launch day"
        )
    if date > last:
        raise ConfigError(
            f"{date} is after today ({last} in {timezone}): give a --date from {first} to {last}"
        )
    return date


def _release(args: argparse.Namespace) -> int:
    date = calendar_date(args.date)  # before the code location loads: a typo fails fast
    if args.duration is not None:  # the rule midi_sketch applies, before any run starts
        validate_request(SketchRequest(seed=0, duration_s=args.duration))

    from lofi_assets.definitions import defs
    from lofi_assets.defs.partitions import track_partition_key

    channel = defs.resources["channel"].settings()
    if args.duration is not None:
        # Each slot's plan as midi_sketch makes it (less the feedback boosts, which only move
        # the style's odds): a length too short for MIN_BARS at the slot's tempo is refused
        # here, in one line, not in three failed runs.
        for slot in channel.slots:
            resolve_plan(channel.sketch_request(date, slot, duration_s=args.duration))
    instance = _instance()
    # Dagster's console logger prints each failed step's stack traces (three times: step,
    # dependants, run); the CLI prints one line per failed step instead (failed_step_lines).
    quiet: dict = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    if args.duration is not None:  # a quick preview release: every track this long
        quiet["ops"] = {"midi_sketch": {"config": {"duration_s": args.duration}}}
    failures = succeeded = 0
    runs = [
        (f"slot {slot}", "daily_tracks_job", track_partition_key(date, slot))
        for slot in channel.slots
    ]
    runs.append(("release", "daily_release_job", date))
    runs.append(("publish", "publish_job", date))
    runs.append(("catalog", "catalog_site_job", date))  # after publish: pages show the ISRCs
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
            for line in failed_step_lines(result):
                print(f"      {line}", flush=True)
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


def failed_step_lines(result) -> list[str]:
    """One line per failed step of a Dagster run, ``step: message`` (secrets masked).

    ``result``: a ``dagster.ExecuteInProcessResult``. The message is the step's
    ``dg.Failure`` description (the product's own, naming the fix), else the error's own
    message without its class path or stack trace; a run that failed without a failed step
    (a run-level error) gives the run's message.
    """
    lines = []
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        message = ""
        if data.user_failure_data is not None and data.user_failure_data.description:
            message = data.user_failure_data.description
        elif data.error is not None:
            message = f"{data.error.cls_name}: {data.error.message.split(': ', 1)[-1]}"
        lines.append(_one_line(f"{event.step_key} failed: {message or 'no message'}"))
    if not lines:
        for event in result.all_events:
            if event.event_type_value == "RUN_FAILURE":
                lines.append(_one_line(f"run failed: {event.message or 'no message'}"))
    return lines


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
    path = run_installed_app_flow(
        Path(secrets), Path(token), port=args.port, open_browser=not args.no_browser
    )
    print(f"token written to {path} (mode 0600); export {TOKEN_FILE_ENV}={path} to publish live")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's one-line errors: ``lofi: error: … (see `lofi render --help`)``
    instead of the usage block; exit code 2 as argparse's own."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"lofi: error: {message} (see `{self.prog} --help`)\n")


def existing_file(text: str) -> str:
    """An argparse type: a file that exists (a missing input is refused before any work)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: give a file name")
    path = Path(text)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}")
    return text


def writable_file(text: str) -> str:
    """An argparse type: a file to write, in a folder that exists (not created on a typo)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: give a file name")
    folder = Path(text).parent
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"no folder {folder} to write into: create it first")
    return text


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lofi", description="lofi-empire command line")
    commands = parser.add_subparsers(dest="command", required=True)

    sketch = commands.add_parser("sketch", help="compose one MIDI sketch to a file")
    sketch.add_argument(
        "--out",
        required=True,
        type=writable_file,
        help="MIDI file to write (plan JSON goes beside it)",
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
    render.add_argument(
        "--out", required=True, type=writable_file, help="WAV file to write (44.1 kHz, 24-bit)"
    )
    render.add_argument(
        "--midi", type=existing_file, help="a sketch MIDI file (its plan JSON beside it or --plan)"
    )
    render.add_argument(
        "--plan", type=existing_file, help="the sketch's plan JSON (default: <midi>.plan.json)"
    )
    render.add_argument("--seed", type=int, help="compose a new sketch from this seed instead")
    render.add_argument("--style", help="style preset with --seed")
    render.add_argument("--duration", type=float, help="target length in seconds with --seed")
    render.add_argument("--soundfont", help="an .sf2 file (default: $LOFI_SOUNDFONT or FluidR3_GM)")
    render.set_defaults(run=_render)

    commands.add_parser("styles", help="list the style presets").set_defaults(run=_styles)

    release = commands.add_parser(
        "release", help="materialize a day's release on the Dagster instance ($DAGSTER_HOME)"
    )
    release.add_argument(
        "--date",
        help="YYYY-MM-DD (default: today in the channel's timezone, $LOFI_CHANNEL_TIMEZONE)",
    )
    release.add_argument("--duration", type=float, help="track length in seconds (a quick preview)")
    release.set_defaults(run=_release)

    commands.add_parser(
        "pools", help="set every concurrency pool's limit on the Dagster instance (before it runs)"
    ).set_defaults(run=_pools)

    auth = commands.add_parser("auth", help="authorize a service for publishing")
    auth.add_argument("service", choices=["youtube"])
    auth.add_argument("--client-secrets", help="OAuth desktop client JSON from Google Cloud")
    auth.add_argument("--token-file", help="where to write the token (mode 0600)")
    auth.add_argument(
        "--port", type=port_number, default=0, help="local redirect port (0: any free one)"
    )
    auth.add_argument(
        "--no-browser",
        action="store_true",
        help="only print the consent URL (open it on any machine that can reach this port)",
    )
    auth.set_defaults(run=_auth_youtube)
    _add_radio_parser(commands)
    _add_comments_parser(commands)
    _add_catalog_parser(commands)
    return parser


def _warehouse():
    from lofi_assets.publish.warehouse import Warehouse

    data_dir = Path(os.environ.get("LOFI_DATA_DIR", "data"))
    return Warehouse(os.environ.get("LOFI_WAREHOUSE_URL") or str(data_dir / "warehouse.duckdb"))


def _confirmation_sender(data_dir: Path):
    """How `lofi catalog serve` mails a new subscriber's confirmation link: over the report's
    SMTP settings (``LOFI_SMTP_*``), else as an .eml under ``newsletter/confirmations/``
    named by the subscriber's id, for the operator to forward (dry run)."""
    import datetime as dt

    from lofi_assets.catalog.newsletter import confirmation_message, subscriber_id
    from lofi_assets.channel import Channel
    from lofi_assets.publish.report import DRY_RUN_SENDER, SmtpSettings, send_message, write_eml

    settings = SmtpSettings.from_environment()

    def send(address: str, confirm_url: str) -> None:
        message = confirmation_message(
            channel=Channel().name,
            sender=settings.sender if settings else DRY_RUN_SENDER, recipient=address,
            confirm_url=confirm_url, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        if settings is None:
            folder = data_dir / "newsletter" / "confirmations"
            write_eml(message, folder / f"{subscriber_id(address)}.eml")
        else:
            send_message(message, settings, recipient=address)

    return send


def _licence_list(_: argparse.Namespace) -> int:
    from lofi_assets.catalog.licensing import LicenceRequests
    from lofi_assets.publish.comments import plain_text

    rows = LicenceRequests(_warehouse()).open_requests()
    for row in rows:
        # A requester's words: no terminal escape, bidi override, tab or newline gets through.
        project = plain_text(row["project"])[:80]
        print(f"{row['request_id']}\t{row['received_at']}\t{row['licence_use']}\t{project}")
    if not rows:
        print("no open licence requests", file=sys.stderr)
    return 0


def _licence_answer(args: argparse.Namespace) -> int:
    from lofi_assets.catalog.licensing import LicenceRequests
    from lofi_assets.catalog.site import DEFAULT_SITE_URL
    from lofi_assets.channel import Channel

    # The code location's channel is the default one (definitions.py configures its timezone
    # only); importing it would load every asset module for two names.
    answer = LicenceRequests(_warehouse()).answer(
        args.request_id, artist=Channel().artist, site_url=DEFAULT_SITE_URL
    )
    # The answer quotes the requester's name and project: only their text, lines and tabs.
    text = f"Subject: {answer.subject}\n\n{answer.body}"
    print(
        "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf")),
        end="",
    )
    return 0


def _add_catalog_parser(commands) -> None:
    licence = commands.add_parser("licence", help="licence requests sent from the site's form")
    licence_actions = licence.add_subparsers(dest="action", required=True)
    licence_actions.add_parser("list", help="open requests").set_defaults(run=_licence_list)
    answer = licence_actions.add_parser(
        "answer", help="answer a request from its use's template (stored, and printed)"
    )
    answer.add_argument("request_id", metavar="REQUEST_ID")
    answer.set_defaults(run=_licence_answer)

    catalog = commands.add_parser("catalog", help="the listening-room site built by catalog_site")
    actions = catalog.add_subparsers(dest="action", required=True)
    serve = actions.add_parser("serve", help="serve the site on 127.0.0.1 (Ctrl-C stops it)")
    serve.add_argument("--port", type=port_number, default=8765, help="TCP port (0: any free one)")
    serve.add_argument(
        "--site", help="the site folder (default: $LOFI_DATA_DIR/catalog_site, else data/…)"
    )
    serve.add_argument(
        "--public-url",
        help="the URL a proxy publishes the site at (ChannelConfig.site_url): requests naming "
        "its host are answered too, and confirmation links name it",
    )
    serve.set_defaults(run=_catalog_serve)


def _catalog_serve(args: argparse.Namespace) -> int:
    from lofi_assets.catalog.serve import site_server

    data_dir = Path(os.environ.get("LOFI_DATA_DIR", "data"))
    site_root = Path(args.site) if args.site else data_dir / "catalog_site"
    # The newsletter's links and the licence form write to the warehouse.
    server = site_server(
        site_root.resolve(), args.port, _warehouse, _confirmation_sender(data_dir),
        public_url=args.public_url,
    )  # fmt: skip
    host, port = server.server_address[:2]
    print(f"serving {site_root.resolve()} at http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _add_comments_parser(commands) -> None:
    comments = commands.add_parser(
        "comments", help="the approval queue of drafted comment replies (nothing posts unapproved)"
    )
    actions = comments.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list queued comments and their drafts")
    listing.add_argument("--status", choices=["pending", "approved", "posted", "rejected", "spam"])
    listing.add_argument("--date", help="one release date (YYYY-MM-DD)")
    listing.set_defaults(run=_comments_list)
    for action, help_text in (("approve", "allow these drafted replies to be posted"),
                              ("reject", "never answer these comments")):  # fmt: skip
        command = actions.add_parser(action, help=help_text)
        command.add_argument("comment_ids", nargs="+", metavar="COMMENT_ID")
        command.set_defaults(run=_comments_decide, approve=action == "approve")


def _comment_queue():
    from lofi_assets.publish.comments import CommentQueue
    from lofi_assets.publish.warehouse import Warehouse

    data_dir = Path(os.environ.get("LOFI_DATA_DIR", "data"))
    url = os.environ.get("LOFI_WAREHOUSE_URL") or str(data_dir / "warehouse.duckdb")
    return CommentQueue(Warehouse(url))


def _comments_list(args: argparse.Namespace) -> int:
    from lofi_assets.publish.comments import plain_text

    rows = _comment_queue().rows(_parse_date(args.date) if args.date else None, args.status)
    for row in rows:
        # A viewer's name and text are theirs: no escape sequence or bidi override reaches
        # the terminal, no tab or newline breaks the columns.
        draft = plain_text(row["draft"] or "—")
        print(f"{row['comment_id']}\t{row['release_date']}\t{row['status']}\t{row['category']}"
              f"\t{plain_text(row['author'])}: {plain_text(row['text'])[:60]}\t→ {draft[:80]}")  # fmt: skip
    if not rows:
        print("no comments in the queue", file=sys.stderr)
    return 0


def _comments_decide(args: argparse.Namespace) -> int:
    changed = _comment_queue().decide(args.comment_ids, approve=args.approve)
    verb = "approved" if args.approve else "rejected"
    print(f"{verb} {len(changed)}: {' '.join(changed) or 'nothing new'}"
          + (" — the next comment_replies run posts them" if args.approve and changed else ""))  # fmt: skip
    return 0


def _add_radio_parser(commands) -> None:
    radio = commands.add_parser(
        "radio", help="stream the catalog as a 24/7 radio over RTMP(S) (reconnects by itself)"
    )
    radio.add_argument("--rtmp-url", help="ingest URL (default: $LOFI_RTMP_URL)")
    radio.add_argument("--track", action="append", type=existing_file, help="a master (repeat)")
    radio.add_argument("--artwork", type=existing_file, help="picture behind the overlay")
    radio.add_argument("--duration", type=float, help="seconds to stream (default: forever)")
    radio.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT in pixels")
    radio.add_argument("--fps", type=int, default=30, help="frames per second")
    radio.add_argument("--video-kbps", type=int, default=3000, help="CBR video bitrate")
    radio.add_argument("--crossfade", type=float, default=4.0, help="seconds between tracks")
    radio.add_argument("--alert-after", type=float, default=60.0, help="seconds down → alert")
    radio.add_argument("--work-dir", help="status, overlay and log files (default: data/radio)")
    radio.add_argument(
        "--youtube-stream-id",
        default=os.environ.get("LOFI_YOUTUBE_STREAM_ID"),
        help="YouTube Live stream (liveStreams id) whose broadcast the watchdog keeps bound",
    )
    radio.set_defaults(run=_radio)


def _radio(args: argparse.Namespace) -> int:
    import logging
    import signal

    from lofi_assets.audio.radio_feed import RadioFeed, RadioPlaylistError, RadioTrack, find_masters
    from lofi_assets.audio.radio_queue import day_playlist
    from lofi_assets.publish import radio

    data_dir = Path(os.environ.get("LOFI_DATA_DIR", "data"))
    size = re.fullmatch(r"(\d+)x(\d+)", args.size)
    if size is None:
        raise radio.RadioConfigError(f"--size {args.size!r} must be WIDTHxHEIGHT, e.g. 1280x720")
    settings = radio.RadioSettings(
        rtmp_url=args.rtmp_url or os.environ.get(radio.RTMP_URL_ENV, ""),
        stream_key=os.environ.get(radio.STREAM_KEY_ENV, ""),
        work_dir=Path(args.work_dir) if args.work_dir else data_dir / "radio",
        artwork=Path(args.artwork) if args.artwork else None,
        width_px=int(size[1]),
        height_px=int(size[2]),
        fps=args.fps,
        video_bitrate_kbps=args.video_kbps,
        alert_after_s=args.alert_after,
        webhook_url=os.environ.get(radio.WEBHOOK_ENV, ""),
    )
    timezone = ZoneInfo(channel_timezone())

    def today() -> dt.date:
        return dt.datetime.now(timezone).date()

    if args.track:
        tracks = [RadioTrack(Path(path), Path(path).stem) for path in args.track]
    else:
        # The day's radio_queue, else every master of the catalog.
        tracks = day_playlist(data_dir, today()) or find_masters(data_dir / "mastered_wav")
        if not tracks:
            raise RadioPlaylistError(
                f"No masters under {data_dir / 'mastered_wav'}: run `lofi release` first "
                "or pass --track"
            )
    feed = RadioFeed(tracks, crossfade_s=args.crossfade)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # At midnight the next day's queue follows the current track (with --track: no roll).
    playlist_for = None if args.track else (lambda day: day_playlist(data_dir, day))
    watchdog_tick = None
    if args.youtube_stream_id:
        from lofi_assets.publish.live import DEFAULT_ROTATE_AFTER_S, LiveWatchdog
        from lofi_assets.publish.warehouse import Warehouse
        from lofi_assets.publish.youtube import clients_from_environment

        warehouse = os.environ.get("LOFI_WAREHOUSE_URL") or str(data_dir / "warehouse.duckdb")
        watchdog = LiveWatchdog(
            clients_from_environment().youtube,
            Warehouse(warehouse),
            args.youtube_stream_id,
            "lofi radio · 24/7 beats to study and relax to",
            rotate_after_s=DEFAULT_ROTATE_AFTER_S,
        )
        watchdog_tick = watchdog.tick
    streamer = radio.RadioStreamer(feed, settings, playlist_for, today, watchdog_tick)
    signal.signal(signal.SIGTERM, lambda *_: streamer.stop())
    status = streamer.run(duration_s=args.duration)
    print(
        f"radio stopped: up {status.uptime_s:.0f} s, down {status.downtime_s:.0f} s, "
        f"restarts {status.restarts} (reconnects {status.reconnects}, "
        f"encoder deaths {status.encoder_deaths}), alerts {status.alerts}"
    )
    return 0


def _one_line(text: str) -> str:
    return " ".join(redact(text).split())


def _traceback_file(error: BaseException) -> Path | None:
    """The traceback of ``error`` in a new file under the temp folder (None if that fails)."""
    text = "".join(traceback.format_exception(error))
    try:
        handle, name = tempfile.mkstemp(prefix="lofi-traceback-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(redact(text))
    except OSError:
        return None
    return Path(name)


def failure_line(error: BaseException) -> tuple[str, int]:
    """The one ``lofi: error: …`` line and the exit code for an exception that ended a command.

    By kind: a LofiError already names its fix (2); an OSError on a path says which and what
    to check (2 when the path is missing or not permitted, 1 otherwise, e.g. a full disk); a
    connection error names the service when the message does (1); anything else is a bug:
    its traceback goes to a file the line names (1).
    """
    if isinstance(error, LofiError):
        return _one_line(f"lofi: error: {error}"), EXIT_BAD_INPUT
    if isinstance(error, OSError) and error.filename is not None:
        path = (
            error.filename if error.filename2 is None else f"{error.filename} → {error.filename2}"
        )
        reason = error.strerror or type(error).__name__
        if error.errno == errno.ENOSPC:
            fix = "free some space or set LOFI_DATA_DIR to a larger disk"
        elif error.errno in BAD_PATH_ERRNOS:
            fix = "check the path, that its folder exists and that you may read and write there"
        else:
            fix = "check the disk and the path"
        code = EXIT_BAD_INPUT if error.errno in BAD_PATH_ERRNOS else EXIT_FAILED
        return _one_line(f"lofi: error: {reason}: {path} — {fix}"), code
    if isinstance(error, ConnectionError | TimeoutError) or type(error).__module__.startswith(
        ("requests", "urllib3", "httplib2", "google.auth", "asyncssh", "psycopg2")
    ):
        # Our own wrappers (TokenServerUnreachableError …) already name the server and the fix.
        message = str(error) or type(error).__name__
        if not type(error).__module__.startswith("lofi_assets."):
            message = f"a network request failed: {message} — check the network and the address"
        return _one_line(f"lofi: error: {message}"), EXIT_FAILED
    saved = _traceback_file(error)
    where = f"traceback in {saved}" if saved else "no traceback file could be written"
    return (
        _one_line(
            f"lofi: error: internal error ({type(error).__name__}: {error}); {where}; run "
            f"again with {DEBUG_ENV}=1 to see it here, and please report it"
        ),
        EXIT_FAILED,
    )


def main(argv: list[str] | None = None) -> int:
    """Run one ``lofi`` command; returns the exit code (module docstring: 0, 1 or 2)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exited:  # --help (0) or a usage error (2, its line already printed)
        return exited.code if isinstance(exited.code, int) else EXIT_BAD_INPUT
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("lofi: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT, as shells report it
    except Exception as error:
        if os.environ.get(DEBUG_ENV) and not isinstance(error, LofiError):
            raise  # a developer asked for the traceback
        line, code = failure_line(error)
        print(line, file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
