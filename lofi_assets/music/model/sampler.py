"""Sampling from our trained GPT-2 with a KV cache, in plain torch operations.

transformers' ``generate`` spends most of a step in Python around the model (logits processors,
signature checks, output wrappers): about 9 ms a token for our 4-layer model on this CPU, when
its arithmetic takes well under 1 ms. This runs the same arithmetic — GPT-2's blocks with their
weights from the trained ``GPT2LMHeadModel`` — and the same sampling (temperature, top-k,
top-p, a minimum length before EOS). The tests hold its logits to the library's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import GPT2LMHeadModel

SUPPORTED_ACTIVATIONS = ("gelu_new", "gelu_pytorch_tanh")


@dataclass(frozen=True)
class _Block:
    ln_1: tuple[torch.Tensor, torch.Tensor]
    attention_in: tuple[torch.Tensor, torch.Tensor]  # Conv1D: x @ weight + bias
    attention_out: tuple[torch.Tensor, torch.Tensor]
    ln_2: tuple[torch.Tensor, torch.Tensor]
    mlp_in: tuple[torch.Tensor, torch.Tensor]
    mlp_out: tuple[torch.Tensor, torch.Tensor]


class KVSampler:
    """Next-token logits over a growing KV cache, and sampling from them."""

    def __init__(self, model: GPT2LMHeadModel) -> None:
        import torch

        config = model.config
        if config.activation_function not in SUPPORTED_ACTIVATIONS:
            raise ValueError(f"unsupported activation {config.activation_function!r}")
        if config.scale_attn_by_inverse_layer_idx or not config.scale_attn_weights:
            raise ValueError("only GPT-2's default attention scaling is supported")
        self.torch = torch
        self.heads = config.n_head
        self.epsilon = config.layer_norm_epsilon
        self.positions = config.n_positions
        body = model.transformer

        def pair(module) -> tuple[torch.Tensor, torch.Tensor]:
            return module.weight.detach(), module.bias.detach()

        self.token_embedding = body.wte.weight.detach()
        self.position_embedding = body.wpe.weight.detach()
        self.blocks = [
            _Block(
                pair(block.ln_1),
                pair(block.attn.c_attn),
                pair(block.attn.c_proj),
                pair(block.ln_2),
                pair(block.mlp.c_fc),
                pair(block.mlp.c_proj),
            )
            for block in body.h
        ]
        self.ln_f = pair(body.ln_f)
        self.lm_head = model.lm_head.weight.detach()

    def logits(self, ids: list[int], cache: list | None) -> tuple[torch.Tensor, list]:
        """Logits after each of ``ids`` (appended to what ``cache`` holds), and the new cache."""
        torch, functional = self.torch, self.torch.nn.functional
        start = cache[0][0].shape[1] if cache else 0  # keys are (heads, tokens, width)
        total = start + len(ids)
        if total > self.positions:
            raise ValueError(f"{total} tokens exceed the model's {self.positions}")
        x = self.token_embedding[ids] + self.position_embedding[start:total]
        x = x.unsqueeze(0)
        width = x.shape[-1]
        head_width = width // self.heads
        # Causal among the new tokens; every cached token is in the past of all of them.
        mask = None
        if len(ids) > 1:
            mask = torch.ones(len(ids), total, dtype=torch.bool).tril(start)
        new_cache = []
        for index, block in enumerate(self.blocks):
            h = functional.layer_norm(x, (width,), *block.ln_1, self.epsilon)
            q, k, v = torch.addmm(block.attention_in[1], h[0], block.attention_in[0]).split(
                width, dim=-1
            )
            q, k, v = (t.view(-1, self.heads, head_width).transpose(0, 1) for t in (q, k, v))
            if cache:
                k = torch.cat((cache[index][0], k), dim=1)
                v = torch.cat((cache[index][1], v), dim=1)
            new_cache.append((k, v))
            attended = functional.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, scale=1 / math.sqrt(head_width)
            )
            attended = attended.transpose(0, 1).reshape(1, -1, width)
            x = x + torch.addmm(block.attention_out[1], attended[0], block.attention_out[0])
            h = functional.layer_norm(x, (width,), *block.ln_2, self.epsilon)
            h = functional.gelu(
                torch.addmm(block.mlp_in[1], h[0], block.mlp_in[0]), approximate="tanh"
            )
            x = x + torch.addmm(block.mlp_out[1], h, block.mlp_out[0])
        x = functional.layer_norm(x, (width,), *self.ln_f, self.epsilon)
        return x[0] @ self.lm_head.T, new_cache

    def sample(
        self,
        prompt: list[int],
        *,
        seed: int,
        max_new_tokens: int,
        min_new_tokens: int,
        eos: int,
        temperature: float,
        top_k: int,
        top_p: float,
    ) -> list[int]:
        """New tokens after ``prompt``, up to and without ``eos``; the same seed, the same tokens."""
        torch = self.torch
        generator = torch.Generator().manual_seed(seed)
        new: list[int] = []
        with torch.inference_mode():
            logits, cache = self.logits(prompt, None)
            for step in range(max_new_tokens):
                scores = logits[-1] / temperature
                if step < min_new_tokens:
                    scores[eos] = -math.inf
                scores = _top_k_top_p(torch, scores, top_k, top_p)
                token = int(torch.multinomial(scores.softmax(-1), 1, generator=generator))
                if token == eos:
                    break
                new.append(token)
                if len(prompt) + len(new) >= self.positions:
                    break
                logits, cache = self.logits([token], cache)
        return new


def _top_k_top_p(torch, scores: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Keep the ``top_k`` best tokens, then the fewest whose probability reaches ``top_p``."""
    best, order = scores.topk(min(top_k, scores.shape[-1]))
    probabilities = best.softmax(-1)
    # A token stays while the tokens before it hold less than top_p (the first always stays).
    keep = (probabilities.cumsum(-1) - probabilities) < top_p
    kept = torch.full_like(scores, -math.inf)
    kept[order[keep]] = best[keep]
    return kept
