"""Two tiny transformers: a ViT for 8x8 digits and a character-level GPT.

Both share one pre-LayerNorm transformer block whose four ``nn.Linear`` layers
(``attn.qkv``, ``attn.proj``, ``mlp.fc1``, ``mlp.fc2``) are the layers we prune — the
query/key/value, projection and fully-connected layers the paper prunes in DeiT and OPT
(PAPER.md, "I-OBS for DNNs"). Embeddings, LayerNorms and the output head stay dense, as
in SparseGPT. ``forward(x, targets=None) -> (logits, loss)`` follows nanoGPT.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GPT", "GPTConfig", "ViT", "ViTConfig", "config_dict", "prunable_layers"]


@dataclass(frozen=True)
class ViTConfig:
    """Tiny ViT; defaults reached 97.5% test accuracy on digits (STACK.md)."""

    image_size: int = 8  # sklearn digits are 8x8
    patch: int = 2  # 2x2 patches -> 16 tokens (+ CLS): enough tokens for attention to matter
    dim: int = 64
    depth: int = 2
    heads: int = 4
    mlp: int = 128  # 2x dim: keeps the model at 69k parameters
    classes: int = 10


@dataclass(frozen=True)
class GPTConfig:
    """Tiny character GPT; about 1.4 nats/char after 1000 steps on pydoc text."""

    vocab: int = 105  # fixed alphabet (see data.VOCAB), independent of the Python version
    ctx: int = 64  # context length in characters
    dim: int = 128
    depth: int = 2
    heads: int = 4
    mlp: int = 512  # the usual 4x dim


def config_dict(config) -> dict:
    """Plain-dict view of a model config (for manifests and reports)."""
    return {"kind": type(config).__name__, **asdict(config)}


class SelfAttention(nn.Module):
    """Multi-head self-attention with one fused ``qkv`` projection."""

    def __init__(self, dim: int, heads: int, causal: bool):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)  # (B, nh, T, hs)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, dim: int, heads: int, hidden: int, causal: bool):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, causal)
        self.mlp = MLP(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class ViT(nn.Module):
    """Vision transformer on (B, 8, 8) images with values in [0, 1]."""

    def __init__(self, config: ViTConfig = ViTConfig()):
        super().__init__()
        self.config = c = config
        n_tokens = (c.image_size // c.patch) ** 2
        self.patch_embed = nn.Linear(c.patch * c.patch, c.dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos = nn.Parameter(0.02 * torch.randn(1, n_tokens + 1, c.dim))
        self.blocks = nn.ModuleList(
            Block(c.dim, c.heads, c.mlp, causal=False) for _ in range(c.depth)
        )
        self.ln_f = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.classes)

    def forward(self, images, targets=None):
        B, p, s = images.shape[0], self.config.patch, self.config.image_size
        patches = images.view(B, s // p, p, s // p, p).permute(0, 1, 3, 2, 4).reshape(B, -1, p * p)
        x = torch.cat([self.cls.expand(B, -1, -1), self.patch_embed(patches)], dim=1)  # (B, 17, C)
        x = x + self.pos
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x[:, 0]))  # (B, classes) from the CLS token
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


class GPT(nn.Module):
    """Decoder-only character model on (B, T) integer tokens, T <= ctx."""

    def __init__(self, config: GPTConfig = GPTConfig()):
        super().__init__()
        self.config = c = config
        self.tok = nn.Embedding(c.vocab, c.dim)
        self.pos = nn.Embedding(c.ctx, c.dim)
        self.blocks = nn.ModuleList(
            Block(c.dim, c.heads, c.mlp, causal=True) for _ in range(c.depth)
        )
        self.ln_f = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.vocab)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))  # (B, T, vocab)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, n_new: int, *, temperature: float = 0.0, generator=None):
        """Extend ``idx`` (B, T) by ``n_new`` tokens; temperature 0 means greedy."""
        for _ in range(n_new):
            logits, _ = self(idx[:, -self.config.ctx :])
            logits = logits[:, -1]
            if temperature <= 0:
                nxt = logits.argmax(dim=-1, keepdim=True)
            else:
                probs = F.softmax(logits / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator)
            idx = torch.cat([idx, nxt], dim=1)
        return idx


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The block linears in forward order: ``[("blocks.0.attn.qkv", layer), ...]``."""
    names = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")
    return [
        (f"blocks.{i}.{n}", block.get_submodule(n))
        for i, block in enumerate(model.blocks)
        for n in names
    ]
