#!/usr/bin/env bash
# The project's own setup and entry points. Each command sets up first (idempotent, fast
# when nothing changed):
#   bash scripts/dev.sh release [YYYY-MM-DD]   set up, then materialize the day's release
#   bash scripts/dev.sh test [pytest args]     set up, then lint and run the test suite
#   bash scripts/dev.sh ui                     set up, then serve the Dagster UI on 127.0.0.1:3000
#   bash scripts/dev.sh setup                  only set up
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="$ROOT/.venv"
PYTHON_BIN="${PYTHON:-python3}"
# Debian packages the project needs at run time (installed when missing and apt is there):
# FluidSynth's library for rendering, the FluidR3 General MIDI SoundFont (MIT), and ffmpeg
# (ffprobe and the ebur128 loudness meter the tests check masters with); the text fallback
# chain (lofi_assets/visual/text.py): League Spartan (OFL) for Latin headlines, Noto Sans CJK
# (OFL) for kana, kanji, Hangul, Cyrillic and Greek, the Noto Sans script fonts of
# fonts-noto-core (OFL) for Hebrew, Arabic, Thai, Devanagari and the other scripts Noto covers,
# DejaVu Sans (free licence) for symbols, Noto Color Emoji (OFL) for emoji, and libraqm0
# (HarfBuzz + FriBiDi: Pillow's complex-script shaping and right-to-left layout); the sampled
# instruments (assets_library/instruments.yaml,
# licences in assets_library/LICENSES.md): MuseScore General (MIT; piano, electric pianos,
# guitars, basses, the GM2 drum kits) and Hydrogen's drum kits (the recorded acoustic kit).
DEBIAN_PACKAGES=(libfluidsynth3 fluid-soundfont-gm ffmpeg fonts-league-spartan
  fonts-noto-cjk fonts-noto-core fonts-dejavu-core fonts-noto-color-emoji libraqm0
  musescore-general-soundfont hydrogen-drumkits)
# And for the tests: Chromium for the UI test (Playwright drives it; it cannot download one),
# nginx with its RTMP module for the radio tests (a real ingest server that records the stream).
TEST_DEBIAN_PACKAGES=(chromium nginx-light libnginx-mod-rtmp)

log() { printf '\033[1m[lofi]\033[0m %s\n' "$*" >&2; }

install_debian_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "missing Debian packages ${missing[*]} and no apt-get: install them by hand"
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

setup_python() {
  if ! "$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "Python 3.11 or newer is required ($PYTHON_BIN is $("$PYTHON_BIN" --version 2>&1))"
    exit 1
  fi
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON_BIN" -m venv "$VENV"; }
  local stamp="$VENV/.lofi-installed" wanted
  wanted="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    log "installing Python dependencies into $VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    # --no-compile: pip would byte-compile every module of every package (torch and
    # transformers alone hold thousands), about 5 of the 6 minutes of a fresh install on two
    # cores; Python compiles the modules that are really imported, once, on first import.
    "$VENV/bin/pip" install --quiet --no-compile -e ".[dev]"
    log "compiling librosa's numba kernels once, before anything runs them in parallel"
    "$VENV/bin/python" -m lofi_assets.audio.kernels
    echo "$wanted" > "$stamp"
  fi
}

setup_instruments() {
  # SF3 fonts converted once to SF2 in the instrument cache ($LOFI_INSTRUMENTS_DIR, default
  # ~/.cache/lofi-empire/instruments): skipped when up to date, about 40 s the first time.
  "$VENV/bin/python" -m lofi_assets.audio.instruments >/dev/null
}

setup_instance() {
  # The embedded default: SQLite and logs under ./.dagster_home, configured by ./dagster.yaml.
  if [ -z "${DAGSTER_HOME:-}" ]; then
    export DAGSTER_HOME="$ROOT/.dagster_home"
    mkdir -p "$DAGSTER_HOME"
    ln -sf "$ROOT/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
  fi
  export LOFI_DATA_DIR="${LOFI_DATA_DIR:-$ROOT/data}"
  # The dagster command's own "use dg" notice comes before our code is imported (which
  # silences the warnings our definitions raise: lofi_assets/defs/__init__.py).
  export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore::Warning:click.core"
}

setup() {
  install_debian_packages "${DEBIAN_PACKAGES[@]}"
  setup_python
  setup_instruments
  setup_instance
}

command="${1:-release}"
[ $# -gt 0 ] && shift
case "$command" in
  setup)
    setup
    ;;
  release)
    setup
    "$VENV/bin/lofi" pools >/dev/null
    if [ $# -gt 0 ]; then
      exec "$VENV/bin/lofi" release --date "$1"
    fi
    exec "$VENV/bin/lofi" release
    ;;
  test)
    setup
    install_debian_packages "${TEST_DEBIAN_PACKAGES[@]}"
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    exec "$VENV/bin/python" -m pytest -n 2 --dist loadgroup --durations=25 "$@"
    ;;
  ui)
    setup
    "$VENV/bin/lofi" pools >/dev/null
    exec "$VENV/bin/dagster" dev -w workspace.yaml -h 127.0.0.1 -p "${PORT:-3000}"
    ;;
  *)
    log "unknown command $command: use release, test, ui or setup"
    exit 2
    ;;
esac
