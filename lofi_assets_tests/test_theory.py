import pytest

from lofi_assets.errors import InvalidKeyError
from lofi_assets.music.theory import (
    KEY_MODES,
    SCALES,
    Chord,
    Key,
    parse_roman,
    rootless_pitch_classes,
    voice_lead,
    voice_leading_distance,
)

C_MAJOR = Key.parse("C", "major")


def test_engine_knows_twelve_scales_and_every_church_mode():
    assert len(SCALES) == 12
    assert {"ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian"} <= set(
        KEY_MODES
    )
    assert all(steps[0] == 0 and list(steps) == sorted(steps) for steps in SCALES.values())


@pytest.mark.parametrize(
    ("tonic", "mode", "expected"),
    [("C", "major", "C ionian"), ("Bb", "minor", "Bb aeolian"), ("f#", "Dorian", "F# dorian")],
)
def test_keys_parse_with_aliases_and_spelling(tonic, mode, expected):
    assert Key.parse(tonic, mode).name == expected


@pytest.mark.parametrize(("tonic", "mode"), [("H", "major"), ("C", "klingon"), ("", "minor")])
def test_invalid_keys_are_rejected_with_the_valid_choices(tonic, mode):
    with pytest.raises(InvalidKeyError, match="use"):
        Key.parse(tonic, mode)


@pytest.mark.parametrize(
    ("token", "symbol", "roman"),
    [
        ("ii7", "Dm7", "ii7"),
        ("V7", "G7", "V7"),
        ("Imaj7", "Cmaj7", "Imaj7"),
        ("iv6", "Fm6", "iv6"),  # borrowed minor iv
        ("bVIImaj7", "A#maj7", "bVIImaj7"),  # borrowed bVII
        ("V7/V", "D7", "V7/V"),  # secondary dominant
        ("vii°7/V", "F#dim7", "vii°7/V"),  # secondary leading-tone chord
        ("subV7", "C#7", "subV7"),  # tritone substitute of G7
        ("iiø7", "Dm7b5", "iiø7"),
    ],
)
def test_roman_numerals_build_lofi_chords(token, symbol, roman):
    chord = parse_roman(token, C_MAJOR)
    assert chord.symbol() == symbol
    assert chord.roman == roman


def test_tritone_substitute_shares_the_guide_tones():
    dominant = parse_roman("V7", C_MAJOR)
    substitute = parse_roman("subV7", C_MAJOR)
    guide = lambda chord: {(chord.root_pc + 4) % 12, (chord.root_pc + 10) % 12}  # noqa: E731
    assert guide(dominant) == guide(substitute)


@pytest.mark.parametrize(
    ("quality", "extension", "tensions"),
    [("maj7", 9, {2}), ("maj7", 13, {2, 9}), ("m7", 11, {2, 5}), ("7", 13, {9, 2})],
)
def test_extensions_stack_ninths_elevenths_and_thirteenths(quality, extension, tensions):
    chord = Chord(0, quality, "I", extension)
    plain = Chord(0, quality, "I")
    assert chord.pitch_classes - plain.pitch_classes == tensions


def test_avoid_notes_are_not_offered_as_extensions():
    with pytest.raises(ValueError, match="take no 11th"):
        Chord(0, "maj7", "I", 11)  # a natural 11 over a major third clashes


def test_voicings_are_rootless_and_voice_led():
    progression = [parse_roman(t, C_MAJOR).with_extension(9) for t in ("ii7", "V7", "Imaj7")]
    previous = None
    for chord in progression:
        voicing = voice_lead(chord, previous, 52, 76)
        assert chord.root_pc not in {p % 12 for p in voicing}
        assert {p % 12 for p in voicing} == set(rootless_pitch_classes(chord))
        assert all(52 <= p <= 76 for p in voicing)
        if previous is not None:
            # ii9–V9–Imaj9 voice-leads with a few semitones of total movement.
            assert voice_leading_distance(voicing, previous) <= 6
        previous = voicing
