"""Hugging Face `tokenizers` (Rust) training the same byte-level BPE as our chapter 06, for a side-by-side
timing. Used by `bench --compare-tokenizers`; needs `pip install tokenizers`.

    python3 Tests/Reference/hf_tokenizer_reference.py FILE --vocabulary-size 512 --pre-split gpt2

Prints one JSON line: train_seconds, encode_seconds (the whole file as one string), tokens, merges,
round_trip. Times are the best of --repeats runs.
"""
import argparse
import json
import time

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers


def train(text, vocabulary_size, pre_split):
    tokenizer = Tokenizer(models.BPE())
    # ByteLevel maps the 256 byte values to printable characters; use_regex is GPT-2's pre-split.
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=(pre_split == "gpt2"))
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocabulary_size, min_frequency=0, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tokenizer.train_from_iterator([text], trainer=trainer)
    return tokenizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--vocabulary-size", type=int, default=512)
    parser.add_argument("--pre-split", choices=["none", "gpt2"], default="none")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with open(args.file, encoding="utf-8", newline="") as f:
        text = f.read()

    train_times, encode_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        tokenizer = train(text, args.vocabulary_size, args.pre_split)
        train_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        ids = tokenizer.encode(text).ids
        encode_times.append(time.perf_counter() - start)
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    print(json.dumps({"train_seconds": min(train_times), "encode_seconds": min(encode_times), "tokens": len(ids),
                      "merges": len(merges), "round_trip": tokenizer.decode(ids) == text}))


if __name__ == "__main__":
    main()
