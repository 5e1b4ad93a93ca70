"""Writes Tests/TextDataTests/Fixtures/gpt2-presplit.json: a seeded random Unicode text and the chunks that
GPT-2's pre-split regex gives for it, computed with the `regex` module (pip install regex). The Swift test
PreSplit checks our hand-written scanner against it.

    python3 Tests/Reference/write_presplit_fixture.py Tests/TextDataTests/Fixtures/gpt2-presplit.json
"""
import json
import random
import sys

import regex

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# ASCII, unusual whitespace (vertical tab, form feed, NEL, no-break space, line separator, ideographic space,
# the information separators), Latin-1, combining marks, CJK, emoji, ZWJ and modifiers, other numbers
# (Roman numerals, superscripts, Arabic-Indic digits), and the contraction letters, often.
POOLS = [list(range(32, 127)), [9, 10, 13, 11, 12, 0x85, 0xA0, 0x2028, 0x3000, 0x1C, 0x1F],
         list(range(0xC0, 0x100)), list(range(0x300, 0x370)), list(range(0x4E00, 0x4E40)),
         list(range(0x1F600, 0x1F650)), [0x200D, 0x1F3FD, 0xFE0F, 0x2160, 0xB2, 0x660],
         [ord(c) for c in "'''   sStTmMdDrReEvVlL"]]


def main():
    random.seed(2024)
    text = "".join(chr(random.choice(random.choice(POOLS))) for _ in range(4000))
    text += "  x\n\n  y 's 'S  'll'  \t\n I'm don't we'll 123 4567 "
    chunks = regex.findall(GPT2_PATTERN, text)
    assert "".join(chunks) == text
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump({"pattern": GPT2_PATTERN, "text": text, "chunks": chunks}, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
