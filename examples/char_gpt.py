"""A character-level GPT trained on the Python standard library's own source code (text every
machine with Python has), then sampling new "Python" from it.

A small decoder-only transformer in the style of nanoGPT: token and position embeddings, pre-norm
blocks of causal self-attention (F.scaled_dot_product_attention) and an MLP, AdamW with a cosine
learning-rate schedule and gradient clipping, a held-out validation loss, and autoregressive
sampling with temperature and top-k.

    python examples/char_gpt.py                     # 600 steps, ~1.5 min on 2 CPU cores
    python examples/char_gpt.py --steps 3000 --device cuda --save gpt.pt
    python examples/char_gpt.py --smoke             # a few steps (tests)

Swap the first import for `import torch` and the program runs unchanged on PyTorch."""
import argparse
import glob
import math
import os
import time

import ember as torch
import ember.nn as nn
import ember.nn.functional as F


def stdlib_text(max_chars):
    """The first `max_chars` characters of the standard library's top-level .py files, read in
    sorted order (the same text on every run of the same Python)."""
    parts, total = [], 0
    for path in sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    return "".join(parts)[:max_chars]


class CharData:
    """The text as a LongTensor of character ids, split 90/10 into train and validation."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        ids = torch.tensor([self.stoi[c] for c in text], dtype=torch.long)
        cut = int(0.9 * len(ids))
        self.train, self.val = ids[:cut], ids[cut:]

    def encode(self, s):
        return [self.stoi[c] for c in s if c in self.stoi]

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)

    def batch(self, split, batch_size, block_size, device):
        data = self.train if split == "train" else self.val
        starts = torch.randint(len(data) - block_size - 1, (batch_size,)).tolist()
        x = torch.stack([data[i:i + block_size] for i in starts])
        y = torch.stack([data[i + 1:i + 1 + block_size] for i in starts])
        return x.to(device), y.to(device)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.dropout = dropout

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(),
                                 nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, dropout):
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        self.pos_emb = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        pos = torch.arange(T, device=idx.device)
        x = self.blocks(self.tok_emb(idx) + self.pos_emb(pos))
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """Append `max_new_tokens` sampled tokens to idx (B, T)."""
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size:])
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.shape[-1]))
                logits = logits.masked_fill(logits < v[:, [-1]], float("-inf"))
            next_id = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
            idx = torch.cat((idx, next_id), dim=1)
        return idx


@torch.no_grad()
def estimate_loss(model, data, args, device):
    model.eval()
    out = {}
    for split in ("train", "val"):
        losses = [model(*data.batch(split, args.batch_size, args.block_size, device))[1].item()
                  for _ in range(args.eval_iters)]
        out[split] = sum(losses) / len(losses)
    model.train()
    return out


def cosine_lr(step, args):
    """Linear warmup, then cosine decay to a tenth of the peak."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="character-level GPT on the Python stdlib's source")
    p.add_argument("--steps", type=int, default=600, help="training steps (default: 600)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--block-size", type=int, default=64, help="context length in characters")
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=96)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--max-chars", type=int, default=1_000_000, help="characters of training text")
    p.add_argument("--eval-interval", type=int, default=100)
    p.add_argument("--eval-iters", type=int, default=10)
    p.add_argument("--sample-chars", type=int, default=400, help="characters sampled at the end")
    p.add_argument("--prompt", default="def ")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=20)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--save", metavar="PATH", help="save the trained model's state_dict")
    p.add_argument("--smoke", action="store_true", help="a tiny run: a few steps, short sample")
    args = p.parse_args(argv)
    if args.smoke:
        args.steps, args.eval_interval, args.eval_iters = 4, 2, 1
        args.max_chars, args.sample_chars, args.warmup = 50_000, 40, 2
        args.batch_size, args.n_embd = 8, 32
    return args


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(args.seed)
    data = CharData(stdlib_text(args.max_chars))
    print(f"{len(data.train) + len(data.val):,} characters of the standard library, "
          f"{len(data.chars)} distinct")
    model = GPT(len(data.chars), args.block_size, args.n_layer, args.n_head, args.n_embd,
                args.dropout).to(device)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters, on {device}")
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.99))
    start = time.perf_counter()
    for step in range(args.steps + 1):
        if step % args.eval_interval == 0 or step == args.steps:
            losses = estimate_loss(model, data, args, device)
            print(f"step {step:5d}: train loss {losses['train']:.4f}, "
                  f"val loss {losses['val']:.4f} ({time.perf_counter() - start:.1f} s)")
        if step == args.steps:
            break
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, args)
        x, y = data.batch("train", args.batch_size, args.block_size, device)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    if args.save:
        torch.save(model.state_dict(), args.save)
        print(f"saved {args.save}")
    model.eval()
    prompt = torch.tensor([data.encode(args.prompt) or [0]], dtype=torch.long, device=device)
    out = model.generate(prompt, args.sample_chars, args.temperature, args.top_k)
    print("---- sample ----")
    print(data.decode(out[0].tolist()))
    return losses


if __name__ == "__main__":
    main()
