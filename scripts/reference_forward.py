#!/usr/bin/env python3
"""An independent reference forward pass, in double precision, for architectures llama.cpp c392e50
does not have (Qwen3) or runs only at its members' sizes (Gemma 2): written from the models' published descriptions (the Hugging Face
transformers model code), sharing nothing with aded's C++. Same command line and output as
../shared/tools/llamacpp/logits, so scripts/reference_logits.py can use either:

  scripts/reference_forward.py MODEL.gguf IDS.txt OUT.f32 [N_CTX]

Writes the logits of every position (float32, positions x vocabulary). Reads F32 and F16 tensors
of the architectures llama, qwen2, phi3, qwen3, gemma2, granite, olmo2 and starcoder2. N_CTX (default: ids + 8, as the logits tool)
chooses LongRoPE's factors, starcoder2. Pure Python, fit for models of a few million weights; with
numpy installed (python3-numpy; not needed by the tests), the matrix products run in numpy, still in
double precision, which makes real sizes (Qwen3-0.6B) a matter of minutes.
"""
import math
import operator
import struct
import sys

try:
    import numpy as np
except ImportError:
    np = None

GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class Gguf:
    def __init__(self, path):
        self.data = open(path, "rb").read()
        self.at = 0
        if self.take(4) != b"GGUF":
            sys.exit(f"{path}: not a GGUF file")
        version, n_tensors, n_kv = self.unpack("<IQQ")
        if version < 2:
            sys.exit(f"{path}: GGUF version {version} is too old")
        self.meta = {}
        for _ in range(n_kv):
            key = self.string()
            (kind,) = self.unpack("<I")
            self.meta[key] = self.value(kind)
        infos = []
        for _ in range(n_tensors):
            name = self.string()
            (n_dims,) = self.unpack("<I")
            dims = self.unpack(f"<{n_dims}Q")
            kind, offset = self.unpack("<IQ")
            infos.append((name, dims, kind, offset))
        align = self.meta.get("general.alignment", 32)
        base = (self.at + align - 1) // align * align
        self.tensors = {name: (dims, kind, base + offset) for name, dims, kind, offset in infos}

    def take(self, n):
        b = self.data[self.at:self.at + n]
        self.at += n
        return b

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        v = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return v

    def string(self):
        (n,) = self.unpack("<Q")
        return self.take(n).decode("utf-8", "replace")

    def value(self, kind):
        if kind in GGUF_SCALARS:
            return self.unpack("<" + GGUF_SCALARS[kind])[0]
        if kind == 8:
            return self.string()
        if kind == 9:
            inner, n = self.unpack("<IQ")
            return [self.value(inner) for _ in range(n)]
        sys.exit(f"unknown GGUF value type {kind}")

    def rows(self, name):
        """A tensor as a list of rows (ggml's first dim is the row length)."""
        if name not in self.tensors:
            return None
        dims, kind, at = self.tensors[name]
        n, cols = math.prod(dims), dims[0]
        if kind not in (0, 1):
            sys.exit(f"tensor {name}: type {kind}; the reference reads F32 and F16 only")
        if np is not None and n > cols:  # a matrix, in double precision
            flat = np.frombuffer(self.data, dtype="<f4" if kind == 0 else "<f2", count=n, offset=at)
            return flat.astype(np.float64).reshape(-1, cols)
        flat = struct.unpack_from(f"<{n}{'f' if kind == 0 else 'e'}", self.data, at)
        return [flat[r * cols:(r + 1) * cols] for r in range(n // cols)]

    def vector(self, name):
        r = self.rows(name)
        return None if r is None else r[0]


def matvec(w, x):
    if np is not None and isinstance(w, np.ndarray):
        return (w @ np.asarray(x, dtype=np.float64)).tolist()
    return [sum(map(operator.mul, row, x)) for row in w]


def rms_norm(x, weight, eps):
    scale = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    return [w * v * scale for w, v in zip(weight, x)]


def layer_norm(x, w, b, eps):  # StarCoder2's nn.LayerNorm
    mean = sum(x) / len(x)
    var = sum((v - mean) ** 2 for v in x) / len(x)
    scale = 1.0 / math.sqrt(var + eps)
    return [(v - mean) * scale * wi + bi for v, wi, bi in zip(x, w, b)]


def silu(v):
    return v / (1.0 + math.exp(-v))


def gelu_tanh(v):  # Gemma's hidden_activation, gelu_pytorch_tanh
    return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))


def soft_cap(v, cap):
    return cap * math.tanh(v / cap) if cap else v


class Model:
    def __init__(self, path, n_ctx):
        g = Gguf(path)
        self.arch = arch = g.meta["general.architecture"]
        if arch not in ("llama", "qwen2", "phi3", "qwen3", "gemma2", "granite", "olmo2", "starcoder2"):
            sys.exit(f"{path}: architecture {arch} is not in this reference")
        m = lambda key, default=None: g.meta.get(f"{arch}.{key}", default)
        self.dim = m("embedding_length")
        self.n_layers = m("block_count")
        self.n_heads = m("attention.head_count")
        self.n_kv = m("attention.head_count_kv", self.n_heads)
        self.head = m("attention.key_length", self.dim // self.n_heads)
        self.starcoder2 = arch == "starcoder2"
        self.eps = m("attention.layer_norm_epsilon" if self.starcoder2 else "attention.layer_norm_rms_epsilon")
        self.rope_dim = m("rope.dimension_count", self.head)
        self.base = m("rope.freq_base", 10000.0)
        self.window = m("attention.sliding_window", 0) if arch == "phi3" else 0
        self.gemma2 = arch == "gemma2"
        # Gemma 2: HF's Gemma2RMSNorm multiplies by (1 + w); GGUF files store 1 + w already.
        # Even layers see a window; scores are scaled by query_pre_attn_scalar ** -0.5 (the head
        # size, but dim / heads for the 46-layer 27B) and soft-capped, as are the final logits.
        self.score_scale = 1.0 / math.sqrt(self.head)
        self.attn_cap = self.final_cap = 0.0
        # Granite: embedding_multiplier, residual_multiplier, attention_multiplier, logits_scaling.
        self.embedding_scale, self.residual_scale, self.logit_scale = 1.0, 1.0, 1.0
        if arch == "granite":
            self.score_scale = m("attention.scale")
            self.embedding_scale, self.residual_scale = m("embedding_scale"), m("residual_scale")
            self.logit_scale = m("logit_scale")
        if self.gemma2:
            self.window = m("attention.sliding_window", 4096)
            self.attn_cap = m("attn_logit_softcapping", 50.0)
            self.final_cap = m("final_logit_softcapping", 30.0)
            if self.n_layers == 46:
                self.score_scale = 1.0 / math.sqrt(self.dim // self.n_heads)
        # HF's rotate_half pairs (i, i + d/2); Meta's Llama layout, which GGUF keeps for llama and
        # granite (the converter permutes q and k), pairs (2i, 2i+1).
        self.neox = arch not in ("llama", "granite")
        self.attn_factor = m("rope.scaling.attn_factor", 1.0)
        # YaRN (HF's _compute_yarn_parameters with beta_fast 32, beta_slow 1): per pair, a blend of
        # the original frequency and the frequency divided by the factor, and cos/sin scaled by
        # 0.1 ln(factor) + 1. Linear scaling divides every frequency by the factor.
        self.freq_scale = [1.0] * (self.rope_dim // 2)
        scaling = m("rope.scaling.type", "none")
        factor = m("rope.scaling.factor", 1.0)
        if scaling == "linear" and factor != 1.0:
            self.freq_scale = [1.0 / factor] * (self.rope_dim // 2)
        if scaling == "yarn" and factor != 1.0:
            orig = m("rope.scaling.original_context_length", m("context_length"))
            def pair(turns):
                return self.rope_dim * math.log(orig / (turns * 2 * math.pi)) / (2 * math.log(self.base))
            low = max(math.floor(pair(32)), 0)
            high = min(math.ceil(pair(1)), self.rope_dim - 1)
            if high == low:
                high += 0.001
            for i in range(self.rope_dim // 2):
                keep = 1.0 - min(max((i - low) / (high - low), 0.0), 1.0)  # extrapolation's share
                self.freq_scale[i] = (1.0 - keep) / factor + keep
            self.attn_factor *= 0.1 * math.log(factor) + 1.0
        self.factors = g.vector("rope_freqs.weight")
        if g.vector("rope_factors_long.weight") is not None:
            orig = m("rope.scaling.original_context_length", m("context_length"))
            self.factors = g.vector("rope_factors_long.weight" if n_ctx > orig else "rope_factors_short.weight")
        self.embd = g.rows("token_embd.weight")
        self.out_norm = g.vector("output_norm.weight")
        self.out_norm_b = g.vector("output_norm.bias")
        output = g.rows("output.weight")
        self.output = output if output is not None else self.embd
        q_dim, kv_dim = self.n_heads * self.head, self.n_kv * self.head
        self.layers = []
        for l in range(self.n_layers):
            t = lambda name: g.rows(f"blk.{l}.{name}")
            v = lambda name: g.vector(f"blk.{l}.{name}")
            L = {"attn_norm": v("attn_norm.weight"), "ffn_norm": v("ffn_norm.weight"),
                 "wo": t("attn_output.weight"), "down": t("ffn_down.weight")}
            if arch == "phi3":  # Phi3Attention.qkv_proj, Phi3MLP.gate_up_proj (gate first)
                qkv, gate_up = t("attn_qkv.weight"), t("ffn_up.weight")
                L["wq"], L["wk"], L["wv"] = qkv[:q_dim], qkv[q_dim:q_dim + kv_dim], qkv[q_dim + kv_dim:]
                hidden = len(gate_up) // 2
                L["gate"], L["up"] = gate_up[:hidden], gate_up[hidden:]
            else:
                L["wq"], L["wk"], L["wv"] = t("attn_q.weight"), t("attn_k.weight"), t("attn_v.weight")
                L["gate"], L["up"] = t("ffn_gate.weight"), t("ffn_up.weight")
            if arch in ("qwen2", "starcoder2"):
                L["bq"], L["bk"], L["bv"] = v("attn_q.bias"), v("attn_k.bias"), v("attn_v.bias")
            if arch == "qwen3":  # Qwen3Attention.q_norm / k_norm: RMSNorm over each head
                L["q_norm"], L["k_norm"] = v("attn_q_norm.weight"), v("attn_k_norm.weight")
            if arch == "olmo2":  # Olmo2Attention.q_norm / k_norm: RMSNorm over the whole projections
                L["q_norm_all"], L["k_norm_all"] = v("attn_q_norm.weight"), v("attn_k_norm.weight")
            if arch == "starcoder2":  # LayerNorm biases; o_proj, c_fc, c_proj biases
                L["attn_norm_b"], L["ffn_norm_b"] = v("attn_norm.bias"), v("ffn_norm.bias")
                L["bo"], L["b_up"], L["b_down"] = v("attn_output.bias"), v("ffn_up.bias"), v("ffn_down.bias")
            if arch in ("gemma2", "olmo2"):  # post_attention_layernorm, post_feedforward_layernorm
                L["post_attn"], L["post_ffn"] = v("post_attention_norm.weight"), v("post_ffw_norm.weight")
            self.layers.append(L)
        self.cache = [([], []) for _ in range(self.n_layers)]

    def norm(self, x, w, b):
        if w is None:  # OLMo 2 has no norm before its blocks: they read the stream itself
            return x
        return layer_norm(x, w, b, self.eps) if self.starcoder2 else rms_norm(x, w, self.eps)

    def rope(self, x, pos):
        half = self.rope_dim // 2
        out = list(x)
        for i in range(half):
            freq = self.base ** (-2.0 * i / self.rope_dim) * self.freq_scale[i]
            if self.factors is not None:
                freq /= self.factors[i]
            c, s = math.cos(pos * freq) * self.attn_factor, math.sin(pos * freq) * self.attn_factor
            a, b = (i, i + half) if self.neox else (2 * i, 2 * i + 1)
            out[a], out[b] = x[a] * c - x[b] * s, x[a] * s + x[b] * c
        return out

    def heads(self, x, n):
        return [x[h * self.head:(h + 1) * self.head] for h in range(n)]

    def step(self, token, pos):
        x = list(self.embd[token])
        if self.gemma2:
            x = [v * math.sqrt(self.dim) for v in x]
        x = [v * self.embedding_scale for v in x]
        group = self.n_heads // self.n_kv
        for l, L in enumerate(self.layers):
            # OLMo 2 has no norm before its blocks: they read the stream itself.
            h = self.norm(x, L["attn_norm"], L.get("attn_norm_b"))
            q, k, v = matvec(L["wq"], h), matvec(L["wk"], h), matvec(L["wv"], h)
            if "q_norm_all" in L:
                q, k = rms_norm(q, L["q_norm_all"], self.eps), rms_norm(k, L["k_norm_all"], self.eps)
            if "bq" in L:
                q = [a + b for a, b in zip(q, L["bq"])]
                k = [a + b for a, b in zip(k, L["bk"])]
                v = [a + b for a, b in zip(v, L["bv"])]
            qh, kh = self.heads(q, self.n_heads), self.heads(k, self.n_kv)
            if "q_norm" in L:
                qh = [rms_norm(x_, L["q_norm"], self.eps) for x_ in qh]
                kh = [rms_norm(x_, L["k_norm"], self.eps) for x_ in kh]
            qh = [self.rope(x_, pos) for x_ in qh]
            kh = [self.rope(x_, pos) for x_ in kh]
            keys, values = self.cache[l]
            keys.append(kh)
            values.append(self.heads(v, self.n_kv))
            sliding = self.window and (not self.gemma2 or l % 2 == 0)
            first = max(0, pos - self.window + 1) if sliding else 0
            att = []
            for hq in range(self.n_heads):
                kv = hq // group
                scores = [soft_cap(sum(map(operator.mul, qh[hq], keys[p][kv])) * self.score_scale, self.attn_cap)
                          for p in range(first, pos + 1)]
                top = max(scores)
                w = [math.exp(s - top) for s in scores]
                total = sum(w)
                out = [0.0] * self.head
                for p, wp in zip(range(first, pos + 1), w):
                    vp = values[p][kv]
                    for d in range(self.head):
                        out[d] += wp / total * vp[d]
                att += out
            o = matvec(L["wo"], att)
            if "bo" in L:
                o = [a + b for a, b in zip(o, L["bo"])]
            if "post_attn" in L:
                o = rms_norm(o, L["post_attn"], self.eps)
            x = [a + b * self.residual_scale for a, b in zip(x, o)]
            h = self.norm(x, L["ffn_norm"], L.get("ffn_norm_b"))
            if self.starcoder2:  # Starcoder2MLP: c_proj(gelu_tanh(c_fc(h)))
                act = [gelu_tanh(u + b) for u, b in zip(matvec(L["up"], h), L["b_up"])]
                o = [a + b for a, b in zip(matvec(L["down"], act), L["b_down"])]
            else:
                act_fn = gelu_tanh if self.gemma2 else silu
                act = [act_fn(g) * u for g, u in zip(matvec(L["gate"], h), matvec(L["up"], h))]
                o = matvec(L["down"], act)
            if "post_ffn" in L:
                o = rms_norm(o, L["post_ffn"], self.eps)
            x = [a + b * self.residual_scale for a, b in zip(x, o)]
        logits = matvec(self.output, self.norm(x, self.out_norm, self.out_norm_b))
        return [soft_cap(v, self.final_cap) / self.logit_scale for v in logits]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    ids = [int(t) for t in open(sys.argv[2]).read().split()]
    n_ctx = int(sys.argv[4]) if len(sys.argv) > 4 else len(ids) + 8
    model = Model(sys.argv[1], n_ctx)
    with open(sys.argv[3], "wb") as out:
        for pos, token in enumerate(ids):
            logits = model.step(token, pos)
            out.write(struct.pack(f"<{len(logits)}f", *logits))
    print(f"{len(ids)} positions x {len(logits)} logits -> {sys.argv[3]}", file=sys.stderr)


if __name__ == "__main__":
    main()
