"""The licence every released track carries, in one place: the site, the streaming bundle and
the packs name it from here.

Terms are the channel's own (a creator licence in the spirit of the "free for content creators
with credit" licences lo-fi labels publish); the attribution line is what a video description
must carry.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    """A licence as shown to a listener: ``licence_id`` is stable (it goes into metadata and
    manifests), ``summary`` one sentence, ``attribution`` the credit line to copy."""

    licence_id: str
    name: str
    summary: str
    attribution: str
    commercial_terms: str


CREATOR_LICENCE = Licence(
    licence_id="lofi-empire-creator-1.0",
    name="Lofi Empire Creator Licence 1.0",
    summary=(
        "Free to use in videos, streams and podcasts, monetized included, with the credit line "
        "below; no re-upload of the tracks on their own and no registration with Content ID."
    ),
    attribution="Music: “{title}” by {artist} ({site_url})",
    commercial_terms=(
        "Advertising, film, TV and game sync, and sale of the music itself, need a commercial "
        "licence: ask through the licence request form with the project and its reach."
    ),
)


# Sample folders whose sounds may not be handed out on their own (assets_library/LICENSES.md):
# the Colombo kit is GPL-2+ with an exception for *compositions* that use the samples; a drum
# one-shot cut from a stem is that sample again, not a composition.
NOT_REDISTRIBUTABLE_SAMPLE_DIRS = frozenset({"colombo"})


@dataclass(frozen=True)
class OneShotSource:
    """Whether drum one-shots of a GM2 kit may go into a pack, and why (the source and its
    licence, as recorded in LICENSES.md)."""

    kit_program: int
    allowed: bool
    reason: str


def one_shot_source(kit_program: int) -> OneShotSource:
    """The licence verdict for one-shots cut from a stem played by GM2 kit ``kit_program``
    (its recorded layers from ``instruments.yaml``; the SoundFont kits, MuseScore General's
    MIT/CC0 drums and FluidR3's MIT ones, may be redistributed with their notice)."""
    from lofi_assets.audio.instruments import load_library

    spec = load_library().kit_spec(kit_program)
    if spec.sample_dir_name in NOT_REDISTRIBUTABLE_SAMPLE_DIRS:
        return OneShotSource(
            kit_program, False,
            f"kit {kit_program} plays the {spec.sample_dir_name} samples (GPL-2+, exception "
            "for compositions only): no one-shots",
        )  # fmt: skip
    font = spec.font or "FluidR3_GM"
    return OneShotSource(
        kit_program, True,
        f"kit {kit_program} is the {font} SoundFont's (MIT, drums partly CC0; notice in "
        "LICENCE.txt)",
    )  # fmt: skip


SOUNDFONT_NOTICE = (
    "Drum one-shots are rendered from the MuseScore General SoundFont (S. Christian Collins "
    "and contributors, MIT, drum samples partly CC0) or FluidR3_GM (Frank Wen, MIT): "
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this "
    "software and associated documentation files, to deal in the Software without restriction, "
    "subject to the copyright notice and this permission notice being included in all copies."
)
