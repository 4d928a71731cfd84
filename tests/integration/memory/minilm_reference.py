"""The reference the sidecar's MiniLM embedder is held to: token ids from the Hugging Face
`tokenizers` library (PyPI, not ours) reading the model's own tokenizer.json, truncated at 256
tokens as sentence-transformers does for all-MiniLM-L6-v2, and vectors from a numpy forward pass
of the BERT encoder over the same model.safetensors (read by the `safetensors` package), mean
pooled over the attention mask and L2-normalised: sentence-transformers' pipeline, written with
no code from the sidecar's.

    python minilm_reference.py MODEL_DIR SENTENCES_FILE > reference.jsonl

SENTENCES_FILE holds one JSON string per line; the output one {"ids": [...], "vector": [...]}
per line, in order.
"""

import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer


def layer_norm(x, g, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def encode(w, cfg, ids):
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = h // heads, cfg["layer_norm_eps"]
    ids = np.array(ids, dtype=np.int64)
    n = len(ids)
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][:n]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x.astype(np.float64), w["embeddings.LayerNorm.weight"],
                   w["embeddings.LayerNorm.bias"], eps)
    mask = np.ones(n)  # one sequence, no padding: every token attends to every token

    def lin(name, v):
        return v @ w[name + ".weight"].astype(np.float64).T + w[name + ".bias"]

    for layer in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        q = lin(p + "attention.self.query", x).reshape(n, heads, dh).transpose(1, 0, 2)
        k = lin(p + "attention.self.key", x).reshape(n, heads, dh).transpose(1, 0, 2)
        v = lin(p + "attention.self.value", x).reshape(n, heads, dh).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(dh) + (1.0 - mask) * -1e9
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, h)
        x = layer_norm(x + lin(p + "attention.output.dense", ctx),
                       w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        ffn = lin(p + "output.dense", gelu(lin(p + "intermediate.dense", x)))
        x = layer_norm(x + ffn, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                       eps)
    pooled = (x * mask[:, None]).sum(0) / mask.sum()
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main(model_dir, sentences_file):
    cfg = json.load(open(f"{model_dir}/config.json"))
    st_cfg = json.load(open(f"{model_dir}/sentence_bert_config.json"))
    tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    tok.no_padding()
    tok.enable_truncation(max_length=st_cfg["max_seq_length"])
    w = load_file(f"{model_dir}/model.safetensors")
    with open(sentences_file, encoding="utf-8") as f:
        sentences = [json.loads(line) for line in f if line.strip()]
    for s in sentences:
        ids = tok.encode(s).ids
        print(json.dumps({"ids": ids, "vector": [float(v) for v in encode(w, cfg, ids)]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
