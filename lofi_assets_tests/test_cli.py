import json

import pytest

from lofi_assets.cli import main
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.midi_io import midi_bytes
from lofi_assets.music.plan import SketchRequest


def test_lofi_sketch_writes_the_same_midi_as_the_engine(tmp_path, capsys):
    out = tmp_path / "x.mid"
    assert main(["sketch", "--style", "jazz", "--seed", "7", "--out", str(out)]) == 0
    assert out.read_bytes() == midi_bytes(compose_sketch(SketchRequest(seed=7, style="jazz")))
    plan = json.loads((tmp_path / "x.plan.json").read_text())
    assert plan["style"] == "jazz" and plan["seed"] == 7
    assert "Jazz" in capsys.readouterr().out


def test_lofi_sketch_can_make_a_channel_track_by_date_and_slot(tmp_path):
    out = tmp_path / "slot2.mid"
    assert main(["sketch", "--date", "2026-11-27", "--slot", "2", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"MThd")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--style", "polka", "--seed", "1"], "Unknown style 'polka'"),
        (["--bpm", "300", "--seed", "1"], "BPM 300.0 is outside 40–200"),
        (["--tonic", "X", "--seed", "1"], "Unknown key 'X'"),
        (["--date", "2026-11-27", "--slot", "9"], "Slot '9' is not one of this channel's slots"),
        (["--date", "27/11/2026"], "Invalid date"),
        ([], "Give --seed N"),
    ],
)
def test_lofi_sketch_rejects_bad_input_and_writes_nothing(tmp_path, capsys, arguments, message):
    out = tmp_path / "bad.mid"
    assert main(["sketch", "--out", str(out), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_lofi_styles_lists_every_preset(capsys):
    assert main(["styles"]) == 0
    listed = capsys.readouterr().out
    for name in ("japanese", "jazz", "boom_bap", "ambient", "study", "rainy_day", "cafe"):
        assert name in listed


def test_lofi_release_explains_a_missing_dagster_home(monkeypatch, capsys):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["release"]) == 2
    assert "DAGSTER_HOME is not set" in capsys.readouterr().err


def test_lofi_render_makes_a_mastered_wav_with_progress(tmp_path, capsys):
    from lofi_assets.audio.measure import integrated_lufs
    from lofi_assets.audio.wav import read_wav

    out = tmp_path / "track.wav"
    assert (
        main(["render", "--style", "study", "--seed", "3", "--duration", "20", "--out", str(out)])
        == 0
    )
    audio, rate = read_wav(out)
    assert abs(integrated_lufs(audio, rate) + 14.0) <= 0.5
    captured = capsys.readouterr()
    assert "8/8 master" in captured.err and "LUFS" in captured.out


def test_lofi_render_rejects_a_corrupt_midi_and_a_missing_plan(tmp_path, capsys):
    corrupt = tmp_path / "bad.mid"
    corrupt.write_bytes(b"not midi")
    (tmp_path / "bad.plan.json").write_text("{}")
    assert main(["render", "--midi", str(corrupt), "--out", str(tmp_path / "x.wav")]) == 2
    assert "not a readable MIDI file" in capsys.readouterr().err
    lonely = tmp_path / "lonely.mid"
    lonely.write_bytes(corrupt.read_bytes())
    assert main(["render", "--midi", str(lonely), "--out", str(tmp_path / "y.wav")]) == 2
    assert "No plan at" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()


def test_lofi_auth_youtube_explains_what_it_needs(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("YOUTUBE_CLIENT_SECRETS", raising=False)
    monkeypatch.delenv("YOUTUBE_TOKEN_FILE", raising=False)
    assert main(["auth", "youtube"]) == 2
    assert "YOUTUBE_CLIENT_SECRETS" in capsys.readouterr().err
    token = tmp_path / "token.json"
    missing = ["auth", "youtube", "--client-secrets", str(tmp_path / "nope.json"), "--token-file", str(token)]  # fmt: skip
    assert main(missing) == 2
    assert "Desktop app" in capsys.readouterr().err
    assert not token.exists()
