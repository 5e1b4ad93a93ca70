"""PyTorch reference of exactly the NanoGPT layout of this project (Karpathy's gpt.py model), in the spirit
of llm.c's train_gpt2.py: the ground truth our Swift implementation is checked against.

    pip install torch safetensors
    python3 Tests/Reference/nanogpt_reference.py --write-fixtures Tests/ModelTests/Fixtures
    python3 Tests/Reference/nanogpt_reference.py --bench T,S --threads 2    (what `bench --compare-pytorch` runs)
    python3 Tests/Reference/nanogpt_reference.py --bench M --steps 10 --layout sdpa    (nanoGPT's attention)

writes small golden fixtures (a tiny model's weights, an input batch, the expected logits, loss, every
parameter's gradient, and the losses of 10 AdamW steps). The Swift test ParityTests reads them, so CI needs
no PyTorch. Tensor names and shapes are the checkpoint names of docs/nanogpt.md (Linear weights (out, in)).
"""
import argparse
import json
import os

import torch
import torch.nn as nn
from torch.nn import functional as F


class Head(nn.Module):
    """one head of self-attention"""

    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)  # (B,T,hs)
        q = self.query(x)  # (B,T,hs)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5  # (B,T,hs) @ (B,hs,T) -> (B,T,T)
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = self.dropout(F.softmax(wei, dim=-1))
        return wei @ self.value(x)  # (B,T,T) @ (B,T,hs) -> (B,T,hs)


class MultiHeadAttention(nn.Module):
    """multiple heads of self-attention in parallel"""

    def __init__(self, n_embd, num_heads, block_size, dropout):
        super().__init__()
        head_size = n_embd // num_heads
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(num_heads)])
        self.proj = nn.Linear(n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return self.dropout(self.proj(out))


class FeedForward(nn.Module):
    """a simple linear layer followed by a non-linearity"""

    def __init__(self, n_embd, dropout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    """Transformer block: communication followed by computation"""

    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


class NanoGPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_embd, n_head, n_layer, dropout=0.0):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T))  # (B,T,C)
        x = self.blocks(self.dropout(x))
        logits = self.lm_head(self.ln_f(x))  # (B,T,V)
        loss = None if targets is None else F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss


class CausalSelfAttention(nn.Module):
    """nanoGPT's layout of the same attention: one packed Linear for every head's query, key and value, and
    PyTorch's fused F.scaled_dot_product_attention, which never stores the (B, nh, T, T) weights on the CPU
    either. The same function as MultiHeadAttention (no bias on q, k, v; projection with bias)."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


def with_sdpa_attention(model):
    """The model with every Block's attention in nanoGPT's layout (fresh weights: for timing)."""
    for block in model.blocks:
        block.sa = CausalSelfAttention(block.ln1.normalized_shape[0], len(block.sa.heads))
    return model


@torch.no_grad()
def generate(model, idx, max_new_tokens, use_cache):
    """gpt.py's generate (recompute the cropped context for every token), or with a key/value cache
    that is refilled from the last block_size // 2 tokens when full (the Swift side's sliding rule)."""
    block_size = model.position_embedding_table.weight.shape[0]
    if not use_cache:
        for _ in range(max_new_tokens):
            logits, _ = model(idx[:, -block_size:])
            probs = F.softmax(logits[:, -1, :], dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx
    tokens = idx[0].tolist()
    cache = None

    def step(token, position, cache):
        # (1, C) rows throughout, so that dynamically quantized Linear layers (--weights int8) take them too.
        x = (model.token_embedding_table.weight[token] + model.position_embedding_table.weight[position])[None]
        for layer, block in enumerate(model.blocks):
            h = block.ln1(x)
            outs = []
            for head_index, head in enumerate(block.sa.heads):
                k, q, v = head.key(h)[0], head.query(h)[0], head.value(h)[0]  # (hs,)
                ks, vs = cache[layer][head_index]
                ks.append(k); vs.append(v)
                K, Vv = torch.stack(ks), torch.stack(vs)  # (t+1, hs)
                w = F.softmax(K @ q * k.shape[-1] ** -0.5, dim=-1)
                outs.append(w @ Vv)
            x = x + block.sa.proj(torch.cat(outs)[None])
            x = x + block.ffwd(block.ln2(x))
        return model.lm_head(model.ln_f(x))[0]

    def fresh():
        return [[([], []) for _ in block.sa.heads] for block in model.blocks]

    for _ in range(max_new_tokens):
        if cache is None or len(cache[0][0][0]) == block_size:
            window = tokens[-(block_size if cache is None else max(1, block_size // 2)):]
            cache = fresh()
            for position, token in enumerate(window):
                logits = step(token, position, cache)
        else:
            logits = step(tokens[-1], len(cache[0][0][0]), cache)
        tokens.append(torch.multinomial(F.softmax(logits, dim=-1), num_samples=1).item())
    return torch.tensor([tokens])


BENCH_CONFIGS = {  # name: (vocab, block, n_embd, n_head, n_layer, batch)
    "T": (65, 8, 32, 1, 1, 32),
    "S": (65, 64, 128, 4, 4, 12),
    "M": (65, 256, 384, 6, 6, 16),
    "L": (65, 1024, 384, 6, 6, 4),   # long context: M's model at T 1024
}


def stream(names, threads, tokens, weights):
    """Prints one JSON line per config: tokens/s streaming `tokens` tokens at batch 1 through the key/value
    cache, after 20 to warm up, with float32 weights or with every Linear layer in int8
    (torch.ao.quantization.quantize_dynamic: int8 weights, activations quantized per call; fbgemm on x86)."""
    import time
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for name in names:
        vocab, block, n_embd, n_head, n_layer, _ = BENCH_CONFIGS[name]
        model = NanoGPT(vocab, block, n_embd, n_head, n_layer).eval()
        if weights == "int8":
            model = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
        generate(model, torch.zeros((1, 1), dtype=torch.long), 20, True)
        start = time.perf_counter()
        generate(model, torch.zeros((1, 1), dtype=torch.long), tokens, True)
        print(json.dumps({"config": name, "weights": weights, "tokens": tokens,
                          "tokens_per_second": tokens / (time.perf_counter() - start)}), flush=True)


def bench(names, threads, repeats, steps=0, layout="gpt.py"):
    """Prints one JSON line per config: median training ms/step and generation tokens/s. With `steps`,
    only training: the mean ms/step over that many consecutive steps after 5 warm-up steps, and the
    process's peak resident memory (what the Swift bench's --compare-pytorch interleaves with its own).
    `layout` "sdpa" times nanoGPT's attention (packed qkv, scaled_dot_product_attention) instead of gpt.py's."""
    import resource
    import time
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    blas = "MKL" if torch.backends.mkl.is_available() else "its bundled BLAS"
    print(json.dumps({"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                      "blas": blas}), flush=True)
    for name in names:
        vocab, block, n_embd, n_head, n_layer, batch = BENCH_CONFIGS[name]
        model = NanoGPT(vocab, block, n_embd, n_head, n_layer)
        if layout == "sdpa":
            model = with_sdpa_attention(model)
        optimizer = adamw(model, lr=1e-3)
        data = torch.randint(vocab, (200_000,))

        def train_step():
            ix = torch.randint(len(data) - block - 1, (batch,))
            x = torch.stack([data[i:i + block] for i in ix])
            y = torch.stack([data[i + 1:i + block + 1] for i in ix])
            optimizer.zero_grad(set_to_none=True)
            _, loss = model(x, y)
            loss.backward()
            optimizer.step()

        for _ in range(5):
            train_step()
        if steps:
            start = time.perf_counter()
            for _ in range(steps):
                train_step()
            print(json.dumps({"config": name, "steps": steps, "layout": layout,
                              "mean_ms_per_step": (time.perf_counter() - start) / steps * 1e3,
                              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
            continue
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            train_step()
            times.append(time.perf_counter() - start)
        model.eval()
        rates = []
        for use_cache in (False, True):
            generate(model, torch.zeros((1, 1), dtype=torch.long), 20, use_cache)
            start = time.perf_counter()
            generate(model, torch.zeros((1, 1), dtype=torch.long), 500, use_cache)
            rates.append(500 / (time.perf_counter() - start))
        print(json.dumps({"config": name, "ms_per_step": sorted(times)[len(times) // 2] * 1e3,
                          "recompute_tokens_per_second": rates[0], "cache_tokens_per_second": rates[1]}), flush=True)


def adamw(model, lr):
    """AdamW as the Swift side does it: weight decay 0.1 on matrices only, betas (0.9, 0.99)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.99), eps=1e-8)


def state_dict_without_masks(model):
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if not k.endswith(".tril")}


def write_fixture_set(folder, prefix, block_size, batch_size):
    """One model, one batch and ten AdamW steps: weights, the expected logits, loss and gradients, the
    losses of the steps and the weights after them."""
    from safetensors.torch import save_file

    torch.manual_seed(1337)
    config = dict(vocabularySize=11, blockSize=block_size, embeddingSize=16, heads=4, layers=2, dropout=0.0)
    model = NanoGPT(config["vocabularySize"], config["blockSize"], config["embeddingSize"], config["heads"],
                    config["layers"])
    with torch.no_grad():  # weights larger than GPT's 0.02 so every path carries a visible signal
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.3)
            else:
                p.uniform_(-0.5, 0.5) if name.endswith("bias") else p.uniform_(0.5, 1.5)
    B, T, V = batch_size, config["blockSize"], config["vocabularySize"]
    batches = [(torch.randint(V, (B, T)), torch.randint(V, (B, T))) for _ in range(10)]
    idx, targets = batches[0]

    os.makedirs(folder, exist_ok=True)
    save_file(state_dict_without_masks(model), os.path.join(folder, prefix + "weights.safetensors"),
              metadata={"config": json.dumps(config)})
    logits, loss = model(idx, targets)
    loss.backward()
    expected = {"idx": idx.float(), "targets": targets.float(), "logits": logits.detach().contiguous(),
                "loss": loss.detach().reshape(1)}
    for name, p in model.named_parameters():
        expected["grad." + name] = p.grad.detach().clone()

    optimizer = adamw(model, lr=1e-2)
    losses = []
    for step_idx, step_targets in batches:
        optimizer.zero_grad(set_to_none=True)
        _, step_loss = model(step_idx, step_targets)
        step_loss.backward()
        optimizer.step()
        losses.append(step_loss.item())
    expected["train.idx"] = torch.stack([b[0] for b in batches]).float()
    expected["train.targets"] = torch.stack([b[1] for b in batches]).float()
    expected["train.losses"] = torch.tensor(losses)
    for name, weight in state_dict_without_masks(model).items():
        expected["trained." + name] = weight
    save_file(expected, os.path.join(folder, prefix + "expected.safetensors"), metadata={"torch": torch.__version__})
    print(f"wrote {folder}/{prefix}*: T {T}, loss {loss.item():.6f}, 10 AdamW losses {[round(x, 4) for x in losses]}")


def write_fixtures(folder):
    # T = 8: every path at a glance. T = 150: long enough that the causal products run in row blocks of
    # 64 (Swift's causalRowBlocks), so the blocked paths are checked against PyTorch too.
    write_fixture_set(folder, "", block_size=8, batch_size=3)
    write_fixture_set(folder, "long-", block_size=150, batch_size=2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-fixtures", metavar="FOLDER")
    parser.add_argument("--bench", metavar="CONFIGS", help="time training and generation, e.g. T,S,M")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps", type=int, default=0, help="with --bench: time only training, over this many steps")
    parser.add_argument("--layout", choices=["gpt.py", "sdpa"], default="gpt.py",
                        help="with --bench: gpt.py's per-head attention, or nanoGPT's packed qkv and scaled_dot_product_attention")
    parser.add_argument("--stream", metavar="CONFIGS", help="time only streaming through the key/value cache, e.g. S,M")
    parser.add_argument("--tokens", type=int, default=1000, help="with --stream: tokens to stream")
    parser.add_argument("--weights", choices=["float32", "int8"], default="float32",
                        help="with --stream: float32, or every Linear layer quantized to int8 (quantize_dynamic)")
    args = parser.parse_args()
    if args.stream:
        stream(args.stream.split(","), args.threads, args.tokens, args.weights)
    if args.write_fixtures:
        write_fixtures(args.write_fixtures)
    if args.bench:
        bench(args.bench.split(","), args.threads, args.repeats, args.steps, args.layout)
    if not args.write_fixtures and not args.bench and not args.stream:
        parser.error("give --write-fixtures FOLDER, --bench CONFIGS or --stream CONFIGS")
