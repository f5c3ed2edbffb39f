"""Every CLI failure is one ``lofi: error: …`` line that names the fix (issue 14): exit 2 for
bad input, 1 for the surroundings; and env-var wiring of resources survives run config."""

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pretty_midi
import pytest

from lofi_assets.channel import channel_timezone
from lofi_assets.cli import DEBUG_ENV, failure_line, main
from lofi_assets.defs.partitions import CHANNEL_START_DATE
from lofi_assets.defs.resources import ChannelConfig, DistributorResource, YouTubeResource
from lofi_assets.errors import ConfigError
from lofi_assets.publish.distribution import MANIFEST_FILE
from lofi_assets.publish.youtube import (
    CredentialsError,
    TokenServerUnreachableError,
    load_credentials,
    token_uri_for,
)
from lofi_assets.redaction import redact
from lofi_assets_tests.conftest import REPO_ROOT
from lofi_assets_tests.sftp_server import PASSWORD, USERNAME, LocalSftp
from lofi_assets_tests.youtube_server import write_token_file


def _today() -> str:
    return dt.datetime.now(ZoneInfo(channel_timezone())).date().isoformat()


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lofi(*arguments: str, **environment: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **environment}
    env.pop(DEBUG_ENV, None)
    return subprocess.run(
        [sys.executable, "-m", "lofi_assets.cli", *arguments],
        env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )  # fmt: skip


def _error_line(captured) -> str:
    """The whole of stderr, which must be exactly one line."""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.fixture(scope="module")
def sketch(tmp_path_factory):
    """A 20-second sketch made by `lofi sketch`: (MIDI path, its plan document)."""
    folder = tmp_path_factory.mktemp("sketch")
    midi = folder / "s.mid"
    assert main(["sketch", "--style", "jazz", "--seed", "7", "--duration", "20", "--out", str(midi)]) == 0  # fmt: skip
    return midi, json.loads(midi.with_suffix(".plan.json").read_text())


# ---- release dates: the channel's calendar, from its start to today ----


@pytest.mark.parametrize("offset_days", [1, 2, 400])
def test_lofi_release_refuses_a_date_after_today_with_the_range(monkeypatch, capsys, offset_days):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # refused before the instance is needed
    today = _today()
    late = (dt.date.fromisoformat(today) + dt.timedelta(days=offset_days)).isoformat()
    assert main(["release", "--date", late]) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: {late} is after today ({today} in {channel_timezone()}): "
        f"give a --date from {CHANNEL_START_DATE} to {today}"
    )


def test_lofi_release_refuses_a_date_before_the_calendar_with_the_range(monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["release", "--date", "2024-12-31"]) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: 2024-12-31 is before the channel's start {CHANNEL_START_DATE} "
        f"(LOFI_CHANNEL_START): give a --date from {CHANNEL_START_DATE} to {_today()}, or set "
        "LOFI_CHANNEL_START to an earlier launch day"
    )


@pytest.mark.parametrize("which", ["start", "today"])
def test_lofi_release_accepts_both_ends_of_the_calendar(monkeypatch, capsys, which):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    date = CHANNEL_START_DATE if which == "start" else _today()
    assert main(["release", "--date", date]) == 2  # past the date check, at the next one
    assert _error_line(capsys.readouterr()).startswith("lofi: error: DAGSTER_HOME is not set")


@pytest.mark.parametrize(
    ("home", "problem"), [("relative/home", "is not an absolute path"), ("FILE", "is not a folder")]
)
def test_lofi_pools_explains_a_dagster_home_dagster_cannot_use(
    tmp_path, monkeypatch, capsys, home, problem
):
    if home == "FILE":
        home = str(tmp_path / "a_file")
        (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("DAGSTER_HOME", home)
    assert main(["pools"]) == 2
    assert _error_line(capsys.readouterr()).startswith(
        f"lofi: error: DAGSTER_HOME={home} {problem}"
    )


def test_a_future_release_date_in_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    late = (dt.date.fromisoformat(_today()) + dt.timedelta(days=2)).isoformat()
    result = _lofi("release", "--date", late, DAGSTER_HOME=str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"lofi: error: {late} is after today ({_today()} in {channel_timezone()}): "
        f"give a --date from {CHANNEL_START_DATE} to {_today()}"
    ]
    assert not list(tmp_path.iterdir())  # refused before it touched the instance


# ---- render: the plan and the MIDI the user brings ----


def test_lofi_render_refuses_a_malformed_plan_naming_the_file(sketch, tmp_path, capsys):
    midi, _ = sketch
    plan = tmp_path / "p.json"
    plan.write_text('{"bpm": ')
    out = tmp_path / "x.wav"
    assert main(["render", "--midi", str(midi), "--plan", str(plan), "--out", str(out)]) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: {plan} is not a readable plan (Expecting value: line 1 column 9 (char 8))"
    )
    assert not out.exists()


def test_lofi_render_refuses_a_plan_without_bpm_naming_the_field(sketch, tmp_path, capsys):
    midi, document = sketch
    plan = tmp_path / "p.json"
    plan.write_text(json.dumps({k: v for k, v in document.items() if k != "bpm"}))
    out = tmp_path / "x.wav"
    assert main(["render", "--midi", str(midi), "--plan", str(plan), "--out", str(out)]) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: {plan}: missing field 'bpm': re-make it (materialize midi_sketch or run "
        "`lofi sketch`)"
    )
    assert not out.exists()


def test_lofi_render_refuses_a_missing_midi_given_with_a_plan(sketch, tmp_path, capsys):
    _, document = sketch
    plan = tmp_path / "p.json"
    plan.write_text(json.dumps(document))
    missing = tmp_path / "missing.mid"
    out = tmp_path / "x.wav"
    assert main(["render", "--midi", str(missing), "--plan", str(plan), "--out", str(out)]) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: argument --midi: {missing} does not exist (see `lofi render --help`)"
    )
    assert not out.exists()


def test_lofi_render_refuses_an_out_file_in_a_missing_folder(sketch, tmp_path, capsys):
    midi, _ = sketch
    out = tmp_path / "no" / "such" / "x.wav"
    assert main(["render", "--midi", str(midi), "--out", str(out)]) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: argument --out: no folder {out.parent} to write into: create it first "
        "(see `lofi render --help`)"
    )
    assert not (tmp_path / "no").exists()


def test_a_usage_error_is_one_line_with_where_to_look(capsys):
    assert main(["render", "--seed", "1"]) == 2
    assert _error_line(capsys.readouterr()) == (
        "lofi: error: the following arguments are required: --out (see `lofi render --help`)"
    )


def test_a_path_that_cannot_be_written_names_the_path(tmp_path, capsys):
    (tmp_path / "x.plan.json").mkdir()  # a folder where `lofi sketch` writes the plan file
    assert main(["sketch", "--seed", "1", "--out", str(tmp_path / "x.mid")]) == 2
    line = _error_line(capsys.readouterr())
    assert line.startswith("lofi: error: ") and str(tmp_path / "x.plan.json") in line
    assert line.endswith("check the path, that its folder exists and that you may read and write there")  # fmt: skip


# ---- every argument by the same rule, before any work ----


@pytest.mark.parametrize("command", ["sketch", "render"])
def test_an_out_file_in_a_missing_folder_is_refused_by_every_command(tmp_path, capsys, command):
    out = tmp_path / "no" / "such" / ("a.mid" if command == "sketch" else "a.wav")
    assert main([command, "--seed", "1", "--out", str(out)]) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: argument --out: no folder {out.parent} to write into: create it first "
        f"(see `lofi {command} --help`)"
    )
    assert not (tmp_path / "no").exists()  # no folder made on a typo


@pytest.mark.parametrize(("command", "option"), [("sketch", "--out"), ("render", "--out"), ("render", "--midi")])  # fmt: skip
def test_an_empty_path_is_refused(tmp_path, capsys, command, option):
    arguments = [command, "--seed", "1", "--out", str(tmp_path / "a.out"), option, ""]
    assert main(arguments) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: argument {option}: an empty path: give a file name "
        f"(see `lofi {command} --help`)"
    )
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("2026-02-30", "2026-02-30 is not a day (February has 28 days in 2026)"),
        ("2028-02-30", "2028-02-30 is not a day (February has 29 days in 2028)"),
        ("2026-04-31", "2026-04-31 is not a day (April has 30 days in 2026)"),
        ("2026-13-01", "2026-13-01 is not a day: months run from 01 to 12 (use YYYY-MM-DD)"),
        ("2026-00-10", "2026-00-10 is not a day: months run from 01 to 12 (use YYYY-MM-DD)"),
        ("20260301", "Invalid date '20260301': use YYYY-MM-DD, e.g. 2026-03-14"),
        ("2026-3-1", "Invalid date '2026-3-1': use YYYY-MM-DD, e.g. 2026-03-14"),
    ],
)
def test_a_date_that_is_not_a_day_says_why(tmp_path, capsys, date, message):
    out = tmp_path / "a.mid"
    assert main(["sketch", "--date", date, "--out", str(out)]) == 2
    assert _error_line(capsys.readouterr()) == f"lofi: error: {message}"
    assert not out.exists()


def test_the_last_day_of_february_in_a_leap_year_is_a_day(tmp_path, capsys):
    out = tmp_path / "a.mid"
    assert main(["sketch", "--date", "2028-02-29", "--duration", "20", "--out", str(out)]) == 0
    assert out.is_file() and "2028-02-29" not in capsys.readouterr().err


@pytest.mark.parametrize(("duration", "shown"), [("8", "8.0"), ("nan", "nan"), ("-5", "-5.0")])
def test_lofi_release_refuses_a_duration_by_the_sketch_rule_before_any_run(
    monkeypatch, capsys, duration, shown
):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # refused before the instance is needed
    assert main(["release", "--duration", duration]) == 2
    line = f"lofi: error: Track duration {shown} s is outside 10–1200 s"
    assert _error_line(capsys.readouterr()) == line
    assert main(["sketch", "--seed", "1", "--duration", duration, "--out", "x.mid"]) == 2
    assert _error_line(capsys.readouterr()) == line  # one rule, one message


def test_lofi_release_refuses_a_duration_too_short_for_the_slots_tempo(monkeypatch, capsys):
    # Every style's tempo is at most 95 BPM: 10 s holds fewer than MIN_BARS (5) bars of 4/4.
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["release", "--duration", "10"]) == 2
    line = _error_line(capsys.readouterr())
    assert re.fullmatch(
        r"lofi: error: A 10\.0 s track at \d+ BPM has fewer than 5 bars: ask for a longer "
        r"duration or a faster tempo",
        line,
    ), line


def test_a_failed_release_run_prints_one_line_per_failed_step_not_stack_traces(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    blocker = tmp_path / "data"
    blocker.write_text("")  # a file where the data folder must be: midi_sketch cannot write
    result = _lofi(
        "release", "--duration", "15", DAGSTER_HOME=str(home), LOFI_DATA_DIR=str(blocker)
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "Stack Trace" not in output, output
    today = _today()
    lines = result.stdout.splitlines()
    for slot in ("1", "2", "3"):
        at = lines.index(f"[{slot}/6] {today} slot {slot}: materializing …")
        assert re.fullmatch(r"      failed \(run [0-9a-f-]{36}\); see the run in the Dagster UI", lines[at + 1])  # fmt: skip
        assert lines[at + 2] == (
            f"      midi_sketch failed: Cannot write under {blocker} (Not a directory: "
            f"{blocker}/midi_sketch/{today}/{slot}): make it a writable folder or set "
            "LOFI_DATA_DIR to one"
        )
    assert lines[-2:] == [
        "      release skipped: an earlier run failed",
        f"release {today}: 0/6 runs succeeded into {home}",
    ]
    assert len(lines) == 3 * 3 + 2


def test_a_missing_or_truncated_soundfont_given_to_render_is_refused(sketch, tmp_path, capsys):
    midi, _ = sketch
    out = tmp_path / "x.wav"
    missing = tmp_path / "missing.sf2"
    assert main(["render", "--midi", str(midi), "--soundfont", str(missing), "--out", str(out)]) == 2  # fmt: skip
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: no such file: {missing} (from the override): check the path, or point "
        "LOFI_SOUNDFONT at an .sf2 file"
    )
    font = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"  # 5,994,284 bytes
    cut = tmp_path / "cut.sf2"
    cut.write_bytes(font.read_bytes()[:3_000_000])  # `head -c 3000000 TimGM6mb.sf2`
    assert main(["render", "--midi", str(midi), "--soundfont", str(cut), "--out", str(out)]) == 2
    assert _error_line(capsys.readouterr()) == (
        f"lofi: error: {cut} is not a complete SoundFont: the preset data (pdta) is missing — "
        f"the file is truncated (3,000,000 of {font.stat().st_size:,} bytes)"
    )
    assert not out.exists()


# ---- OAuth: an unreachable token server, secrets masked ----


def test_lofi_auth_youtube_says_the_token_server_is_unreachable(tmp_path):
    """The whole installed-app flow in a real process: the consent URL is printed, the
    browser's redirect arrives, and the code exchange finds nothing at the token_uri."""
    port = _closed_port()
    token_uri = f"https://lofi:hunter2-password@127.0.0.1:{port}/token"
    secrets = tmp_path / "client.json"
    secrets.write_text(json.dumps({"installed": {
        "client_id": "local-client", "client_secret": "local-client-secret",
        "auth_uri": "https://accounts.example.invalid/o/oauth2/auth", "token_uri": token_uri,
        "redirect_uris": ["http://localhost"],
    }}))  # fmt: skip
    token = tmp_path / "token.json"
    env = {k: v for k, v in os.environ.items() if k not in (DEBUG_ENV, "BROWSER")}
    process = subprocess.Popen(
        [sys.executable, "-m", "lofi_assets.cli", "auth", "youtube", "--client-secrets",
         str(secrets), "--token-file", str(token), "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        prompt = process.stdout.readline()
        assert prompt.startswith("Open this URL in a browser to authorize lofi: https://"), prompt
        query = urllib.parse.parse_qs(urllib.parse.urlparse(prompt.split(": ", 1)[1]).query)
        redirect = f"{query['redirect_uri'][0]}?state={query['state'][0]}&code=local-code"
        with urllib.request.urlopen(redirect, timeout=30) as answer:  # the browser's redirect
            assert answer.status == 200
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 1  # the surroundings failed, not the input
    assert "Traceback" not in stderr and "hunter2" not in stderr
    assert stderr.splitlines() == [
        f"lofi: error: could not reach the token server at "
        f"https://lofi:***@127.0.0.1:{port}/token: connection refused — check the network, or "
        f"the token_uri (in {secrets})"
    ]
    assert not token.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{", "JSONDecodeError"), ('{"web": {}}', "ValueError: Client secrets is not in the correct")],
)
def test_lofi_auth_youtube_refuses_a_malformed_client_file(tmp_path, capsys, content, problem):
    secrets = tmp_path / "client.json"
    secrets.write_text(content)
    token = tmp_path / "token.json"
    arguments = ["auth", "youtube", "--client-secrets", str(secrets), "--token-file", str(token)]
    assert main(arguments) == 2
    line = _error_line(capsys.readouterr())
    assert line.startswith(f"lofi: error: {secrets} is not an OAuth client file ({problem}")
    assert line.endswith("download the JSON of a Desktop app client from Google Cloud Console (APIs & Services → Credentials)")  # fmt: skip
    assert not token.exists()


def test_refreshing_a_token_against_a_closed_port_names_the_server(tmp_path):
    endpoint = f"http://127.0.0.1:{_closed_port()}/"
    token = write_token_file(tmp_path / "token.json", endpoint, expired=True)
    before = token.read_bytes()
    with pytest.raises(TokenServerUnreachableError) as raised:
        load_credentials(token, token_uri_for(endpoint))
    message = (
        f"could not reach the token server at {endpoint}token: connection refused — check the "
        "network, or the token_uri (from YOUTUBE_API_ENDPOINT)"
    )
    assert str(raised.value) == message
    # A ConnectionError: a Dagster step retries it; the CLI reports it in one line, exit 1.
    assert isinstance(raised.value, ConnectionError)
    assert failure_line(raised.value) == (f"lofi: error: {message}", 1)
    assert token.read_bytes() == before


# ---- the top-level handler, by kind ----


def test_a_bug_is_one_line_pointing_at_its_traceback_with_secrets_masked(monkeypatch):
    monkeypatch.setenv("LOFI_SFTP_PASSWORD", "sftp-secret-value")
    try:
        {}["postgresql://lofi:hunter2@db/lofi sftp-secret-value"]
    except KeyError as error:
        line, code = failure_line(error)
    assert code == 1
    assert line.startswith(
        "lofi: error: internal error (KeyError: 'postgresql://lofi:***@db/lofi ***'); traceback in "
    )
    assert line.endswith(f"run again with {DEBUG_ENV}=1 to see it here, and please report it")
    saved = line.split("traceback in ", 1)[1].split(";", 1)[0]
    with open(saved, encoding="utf-8") as file:
        text = file.read()
    os.remove(saved)
    assert text.startswith("Traceback (most recent call last):") and "KeyError" in text
    assert "hunter2" not in text and "sftp-secret-value" not in text


def test_lofi_debug_leaves_bad_input_to_one_line(monkeypatch, capsys):
    monkeypatch.setenv(DEBUG_ENV, "1")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["release", "--date", "2024-12-31"]) == 2  # bad input stays one line
    assert _error_line(capsys.readouterr()).startswith("lofi: error: 2024-12-31 is before")


def test_redact_masks_url_passwords_credential_parameters_and_secret_variables():
    environment = {"LOFI_SFTP_PASSWORD": "pa55word!", "YOUTUBE_TOKEN_FILE": "/home/me/token"}
    text = (
        "postgresql://lofi:s3cret@db:5432/lofi https://oauth2.example/token?refresh_token=1//abc"
        "&client_id=x&client_secret=GOCSPX-1 pa55word! /home/me/token"
    )
    assert redact(text, environment) == (
        "postgresql://lofi:***@db:5432/lofi https://oauth2.example/token?refresh_token=***"
        "&client_id=x&client_secret=*** *** /home/me/token"
    )


# ---- resources: run config that overrides a resource keeps its env-var wiring ----


def _probe_run(resources: dict, run_config: dict, deliver_from=None) -> dict:
    """Materialize one asset that reads the real resources (as the product's assets do) and,
    with ``deliver_from``, delivers that folder through the distributor's target."""
    seen: dict = {}

    @dg.asset
    def resource_probe(
        distributor: DistributorResource, youtube: YouTubeResource, channel: ChannelConfig
    ) -> None:
        seen["youtube_live"] = youtube.live
        seen["token_file"] = youtube.resolved_token_file
        seen["timezone"] = channel.settings().timezone
        target = distributor.target()
        seen["target"] = target.describe()
        if deliver_from is not None:
            seen["receipt"] = target.deliver(deliver_from, "probe").to_document()

    dg.materialize([resource_probe], resources=resources, run_config=run_config)
    return seen


def _product_resources() -> dict:
    from lofi_assets.definitions import defs

    return {name: defs.resources[name] for name in ("distributor", "youtube", "channel")}


def test_overriding_the_distributor_keeps_the_sftp_password_from_the_environment(
    tmp_path, monkeypatch
):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / MANIFEST_FILE).write_text('{"files": {}}')
    token = write_token_file(tmp_path / "token.json", "http://127.0.0.1:9/")
    monkeypatch.setenv("LOFI_SFTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("YOUTUBE_TOKEN_FILE", str(token))
    monkeypatch.setenv("LOFI_CHANNEL_TIMEZONE", "Asia/Tokyo")
    with LocalSftp(tmp_path / "sftp") as server:
        run_config = {"resources": {
            "distributor": {"config": {
                "delivery": "sftp", "sftp_host": "127.0.0.1", "sftp_port": server.port,
                "sftp_username": USERNAME, "sftp_known_hosts": str(server.known_hosts),
            }},
            "youtube": {"config": {"chunk_mb": 2}},
            "channel": {"config": {"channel_name": "深夜のローファイ"}},
        }}  # fmt: skip
        seen = _probe_run(_product_resources(), run_config, deliver_from=bundle)
    # The password arrived: the server accepts only it, and the bundle is in place.
    assert seen["receipt"]["outcome"] == "delivered"
    assert (tmp_path / "sftp" / "incoming" / "probe" / MANIFEST_FILE).read_text() == '{"files": {}}'
    assert seen["target"] == f"sftp://{USERNAME}@127.0.0.1:{server.port}/incoming"
    # The same kind on the other env-wired fields: the token file and the timezone stay.
    assert seen["youtube_live"] is True and seen["token_file"] == str(token)
    assert seen["timezone"] == "Asia/Tokyo"


def test_sftp_without_any_password_says_so_truthfully(monkeypatch):
    monkeypatch.delenv("LOFI_SFTP_PASSWORD", raising=False)
    run_config = {"resources": {"distributor": {"config": {
        "delivery": "sftp", "sftp_host": "127.0.0.1", "sftp_username": USERNAME,
    }}}}  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        _probe_run(_product_resources(), run_config)
    assert str(raised.value) == (
        f"SFTP delivery to {USERNAME}@127.0.0.1 needs a password or a key: neither sftp_password "
        "nor sftp_private_key_file is set, and LOFI_SFTP_PASSWORD is not set in the environment "
        "of this run; set one of them"
    )


def test_live_youtube_without_a_token_file_anywhere_says_so(monkeypatch):
    monkeypatch.delenv("YOUTUBE_TOKEN_FILE", raising=False)
    with pytest.raises(CredentialsError, match=r"neither token_file nor \$YOUTUBE_TOKEN_FILE"):
        _probe_run(_product_resources(), {"resources": {"youtube": {"config": {"mode": "live"}}}})
