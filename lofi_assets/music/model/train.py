"""Training the melody model: a GPT-2 language model over BPE tokens of melodies.

A plain loop (AdamW, cosine decay, gradient clipping) on random windows of the training
stream; validation perplexity over the held-out pieces; the model saved with
``save_pretrained`` into a staging folder that replaces the previous one whole. The device is
CUDA when there is one, else the CPU with every core.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from lofi_assets.errors import ConfigError


@dataclass(frozen=True)
class ModelPreset:
    vocab_size: int  # of the BPE tokenizer
    n_embd: int
    n_layer: int
    n_head: int
    block_size: int
    batch_size: int
    steps: int
    learning_rate: float
    eval_every: int


PRESETS = {
    # Seconds, for tests: the whole pipeline runs, the model learns little.
    "smoke": ModelPreset(300, 32, 1, 2, 64, 8, 30, 3e-3, 15),
    # The CPU default: 3.7 M parameters; corpus, tokenizer and training inside 20 minutes on
    # two cores (windows of 128 tokens: a 16-bar tune is about that long).
    "default": ModelPreset(2000, 256, 4, 4, 128, 16, 600, 1e-3, 150),
    # For a GPU machine: about 26 M parameters.
    "gpu": ModelPreset(4000, 512, 8, 8, 512, 32, 6000, 6e-4, 500),
}


def preset(name: str) -> ModelPreset:
    if name not in PRESETS:
        raise ConfigError(f"Unknown model preset {name!r}: use one of {', '.join(PRESETS)}")
    return PRESETS[name]


@dataclass
class TrainingReport:
    preset: str
    device: str
    parameters: int
    steps: int
    seconds: float
    tokens_per_s: float
    train_loss: float
    validation_loss: float
    validation_perplexity: float
    curve: list[tuple[int, float, float | None]] = field(default_factory=list)

    def to_document(self) -> dict:
        return asdict(self)


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _stream(pieces: Sequence[Sequence[int]], bos: int, eos: int) -> list[int]:
    return [token for piece in pieces if piece for token in (bos, *piece, eos)]


def train_model(
    train_pieces: Sequence[Sequence[int]],
    validation_pieces: Sequence[Sequence[int]],
    vocab_size: int,
    special: dict[str, int],  # PAD, BOS, EOS ids
    preset_name: str,
    out: Path,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> TrainingReport:
    """Train, evaluate and save to ``out`` (a folder for ``from_pretrained``)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    settings = preset(preset_name)
    device = pick_device()
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(seed)
    train_stream = torch.tensor(_stream(train_pieces, special["BOS"], special["EOS"]))
    validation_stream = torch.tensor(_stream(validation_pieces, special["BOS"], special["EOS"]))
    block = settings.block_size
    if train_stream.numel() <= block + 1:
        raise ConfigError(f"The training corpus has {train_stream.numel()} tokens: too few")
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=block,
        n_embd=settings.n_embd,
        n_layer=settings.n_layer,
        n_head=settings.n_head,
        bos_token_id=special["BOS"],
        loss_type="ForCausalLM",
        eos_token_id=special["EOS"],
        pad_token_id=special["PAD"],
    )
    model = GPT2LMHeadModel(config).to(device)
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            min(1.0, (step + 1) / 50)
            * 0.5
            * (1 + math.cos(math.pi * min(step, settings.steps) / settings.steps))
        ),
    )
    generator = torch.Generator().manual_seed(seed)
    log(f"Training {parameters / 1e6:.2f} M parameters on {device} for {settings.steps} steps")
    curve: list[tuple[int, float, float | None]] = []
    started = time.perf_counter()
    recent: list[float] = []
    for step in range(1, settings.steps + 1):
        starts = torch.randint(
            0, train_stream.numel() - block - 1, (settings.batch_size,), generator=generator
        )
        batch = torch.stack([train_stream[s : s + block] for s in starts.tolist()]).to(device)
        model.train()
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        recent.append(loss.item())
        if step % settings.eval_every == 0 or step == settings.steps:
            validation_loss = evaluate(model, validation_stream, block, device)
            train_loss = sum(recent) / len(recent)
            recent = []
            curve.append((step, round(train_loss, 4), round(validation_loss, 4)))
            log(
                f"step {step}/{settings.steps}: train loss {train_loss:.3f}, validation "
                f"perplexity {math.exp(validation_loss):.2f}"
            )
    seconds = time.perf_counter() - started
    model.save_pretrained(out)
    _, last_train, last_validation = curve[-1]
    return TrainingReport(
        preset=preset_name,
        device=device,
        parameters=parameters,
        steps=settings.steps,
        seconds=round(seconds, 1),
        tokens_per_s=round(settings.steps * settings.batch_size * block / seconds, 1),
        train_loss=last_train,
        validation_loss=last_validation or 0.0,
        validation_perplexity=round(math.exp(last_validation or 0.0), 3),
        curve=curve,
    )


def evaluate(model, stream, block: int, device: str) -> float:
    """Mean next-token loss over the validation stream in consecutive windows."""
    import torch

    model.eval()
    losses, weights = [], []
    with torch.no_grad():
        for start in range(0, max(1, stream.numel() - 1), block):
            window = stream[start : start + block]
            if window.numel() < 2:
                break
            batch = window.unsqueeze(0).to(device)
            losses.append(float(model(input_ids=batch, labels=batch).loss) * (window.numel() - 1))
            weights.append(window.numel() - 1)
    return sum(losses) / max(1, sum(weights))


def loss_curve_png(curve: Sequence[tuple[int, float, float | None]]) -> bytes:
    """Train and validation loss against steps (Pillow only)."""
    width, height, margin = 640, 300, 40
    image = Image.new("RGB", (width, height), (24, 22, 34))
    draw = ImageDraw.Draw(image)
    draw.text((margin, 10), "loss (orange: train, blue: validation)", fill=(230, 225, 240))
    if curve:
        values = [v for _, train, validation in curve for v in (train, validation) if v is not None]
        low, high = min(values), max(values)
        last_step = curve[-1][0] or 1

        def point(step: int, value: float) -> tuple[float, float]:
            x = margin + (width - 2 * margin) * step / last_step
            y = height - margin - (height - 2 * margin) * (value - low) / ((high - low) or 1)
            return x, y

        for column, colour in ((1, (238, 170, 120)), (2, (130, 200, 230))):
            points = [point(row[0], row[column]) for row in curve if row[column] is not None]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        draw.text((margin, height - margin + 8), f"steps 0 … {last_step}", fill=(200, 195, 210))
        draw.text((width - 150, 10), f"{low:.2f} … {high:.2f}", fill=(200, 195, 210))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
