"""The one Definitions object of the lofi-empire code location."""

import dagster as dg

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.release import (
    release_metadata,
    release_mix,
    shorts_teaser,
    thumbnail,
    video,
)
from lofi_assets.defs.automation import (
    daily_release_job,
    daily_release_schedule,
    daily_tracks_job,
)
from lofi_assets.defs.io import RecordIOManager
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    SoundFontResource,
    default_data_dir,
)

artifact_store = ArtifactStore(data_dir=default_data_dir())

defs = dg.Definitions(
    assets=[
        midi_sketch,
        stems,
        mastered_wav,
        release_mix,
        release_metadata,
        thumbnail,
        video,
        shorts_teaser,
    ],
    jobs=[daily_tracks_job, daily_release_job],
    schedules=[daily_release_schedule],
    resources={
        "channel": ChannelConfig(),
        "soundfont": SoundFontResource(),
        "artifact_store": artifact_store,
        "record_io_manager": RecordIOManager(store=artifact_store),
    },
)
