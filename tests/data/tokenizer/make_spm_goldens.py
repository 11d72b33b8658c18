#!/usr/bin/python3
"""Writes llama2_spm_goldens.jsonl: varied strings and their ids from SentencePiece itself.

Run with Debian's python3, which has the `sentencepiece` module (apt-get install python3-sentencepiece):

    /usr/bin/python3 tests/data/tokenizer/make_spm_goldens.py [path/to/tokenizer.model]

The default model is ../shared/data/tokenizers/llama2-spm-32000/tokenizer.model. The strings come
from a seeded random generator, so every run writes the same file. Ids are without BOS (the C++
test adds it itself). One JSON object per line: {"text": ..., "ids": [...]}.
"""

import json
import pathlib
import random
import string
import sys

import sentencepiece

SEED = 20240607
HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_MODEL = HERE.parents[3] / "shared/data/tokenizers/llama2-spm-32000/tokenizer.model"
OUTPUT = HERE / "llama2_spm_goldens.jsonl"
MAX_BYTES = 1_500_000

WORDS = """the of and to in is was for that with as on by at from his her an were are which this
be or had not but it they one you have all their there been has more when who will would can if
time people year way day man thing woman life child world school state family student group
country problem hand part place case week company system program question work government number
night point home water room mother area money story fact month lot right study book eye job word
business issue side kind head house service friend father power hour game line end member law car
city community name president team minute idea kid body information back parent face others level
office door health person art war history party result change morning reason research girl guy
moment air teacher force education quickly slowly tokenizer sentencepiece inference llama model
transformer attention speculative decoding quantization throughput latency benchmark""".split()

SCRIPT_PHRASES = [
    "Привет, как дела? Всё хорошо.", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Українська мова має літери ї, є, ґ.", "你好，世界！今天天气很好。", "我们正在测试分词器的行为。",
    "こんにちは、世界。カタカナとひらがな。", "東京都は日本の首都です。", "안녕하세요, 세계! 한국어 문장입니다.",
    "مرحبا بالعالم، كيف حالك؟", "اللغة العربية تكتب من اليمين إلى اليسار.", "שלום עולם, מה שלומך?",
    "नमस्ते दुनिया, आप कैसे हैं?", "हिन्दी देवनागरी लिपि में लिखी जाती है।", "Γειά σου Κόσμε, τι κάνεις;",
    "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่าง", "ওহে বিশ্ব, কেমন আছেন?", "வணக்கம் உலகம்", "გამარჯობა მსოფლიო",
    "Բարեւ աշխարհ", "Xin chào thế giới, tiếng Việt có dấu.", "Zażółć gęślą jaźń.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.", "Árvíztűrő tükörfúrógép", "Ærøskøbing ligger på Ærø.",
    "Straße, Größe, Übermaß, naïve café, façade, señor, São Paulo", "Türkçe: ğüşıöç İstanbul",
    "ሰላም ለዓለም", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ", "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ", "ꦲꦏ꧀ꦱꦫꦗꦮ", "𐌰𐌱𐌲 gothic letters",
]

UNICODE_RANGES = {
    "cjk": (0x4E00, 0x9FFF), "hiragana": (0x3041, 0x3096), "katakana": (0x30A1, 0x30FA),
    "hangul": (0xAC00, 0xD7A3), "cyrillic": (0x0410, 0x044F), "greek": (0x0391, 0x03C9),
    "arabic": (0x0621, 0x064A), "hebrew": (0x05D0, 0x05EA), "devanagari": (0x0905, 0x0939),
    "thai": (0x0E01, 0x0E2E), "bengali": (0x0985, 0x09B9), "tamil": (0x0B85, 0x0BB9),
    "georgian": (0x10D0, 0x10FA), "armenian": (0x0531, 0x0556), "latin_ext": (0x0100, 0x017F),
    "ipa": (0x0250, 0x02AF), "box": (0x2500, 0x257F), "math_ops": (0x2200, 0x22FF),
    "arrows": (0x2190, 0x21FF), "fullwidth": (0xFF01, 0xFF5E),
}

# Characters that are mostly absent from Llama 2's vocabulary: encoded through byte fallback.
RARE_RANGES = [
    (0x1200, 0x137C), (0x13A0, 0x13F4), (0x1D400, 0x1D6A5), (0x20000, 0x2A6DF), (0x10000, 0x1005D),
    (0x12000, 0x12399), (0xE000, 0xF8FF), (0x1F300, 0x1F5FF), (0xA000, 0xA48C), (0x1800, 0x18AA),
    (0x16A0, 0x16F0), (0x2800, 0x28FF), (0x1F0A1, 0x1F0F5), (0x10330, 0x1034A), (0xFE70, 0xFEFC),
]

COMBINING = [chr(c) for c in range(0x0300, 0x036F)]

EMOJI = ["😀", "😂", "🥲", "🤖", "🚀", "🔥", "✨", "❤️", "👍", "🎉", "🐍", "🦀", "🍕", "🌍", "⚡", "☕",
         "🧠", "📦", "🛠️", "✅", "❌", "⭐", "🙏", "💡", "📈", "🇦", "©️", "™️"]
SKIN_TONES = ["🏻", "🏼", "🏽", "🏾", "🏿"]
ZWJ_SEQUENCES = ["👨‍👩‍👧‍👦", "👩‍💻", "🧑‍🚀", "🏳️‍🌈", "👁️‍🗨️", "🧔‍♂️", "❤️‍🔥", "🐻‍❄️", "👩🏽‍🔬",
                 "🏃‍♀️", "👨‍❤️‍💋‍👨"]
FLAG_REGIONS = ["US", "GB", "FR", "DE", "JP", "CN", "IN", "BR", "UA", "ZA", "KR", "EU", "UN", "CA"]
KEYCAPS = ["1️⃣", "2️⃣", "#️⃣", "*️⃣", "🔟"]

SPECIAL_TEXTS = ["<s>", "</s>", "<unk>", "<0x41>", "<pad>", "[INST]", "[/INST]", "<<SYS>>",
                 "<</SYS>>", "<|im_start|>", "<|endoftext|>"]

FIXED = [
    "", " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "a", "A", "0", ".", "hello",
    " hello", "hello ", "  hello  ", "Hello, world!", "hello world", "Hello World", "HELLO WORLD",
    "<s>", "</s>", "<unk>", " <s>", "<s> ", "<s></s>", "<s><s>", "</s><s>", "<s>hello</s>",
    "<s>[INST] What is 2+2? [/INST]", "text with <unk> inside", "<<s>>", "<s", "s>", "</", "<",
    "▁", "▁▁", " ▁", "▁hello", "a▁b", "\u00a0", "a\u00a0b", "\u3000", "\ufeffBOM", "\u200b",
    "\u200d", "\ufffd", "\x00", "a\x00b", "\x7f", "\x1b[31mred\x1b[0m", "é", "e\u0301",
    "ﬁ ligature", "ｈｅｌｌｏ", "𝔥𝔢𝔩𝔩𝔬", "Ⅻ", "½", "²³", "ß", "İ", "ǅ", "ﷺ", "\U0010FFFD",
    "\uffff", "\U0001F600", "🇺🇸", "👨‍👩‍👧‍👦", "1234567890", "3.14159", "-0.5e-10", "1,000,000",
    "https://example.com/path?q=1&r=2#frag", "user@example.org", "C:\\Windows\\System32",
    "    def f(x):\n        return x\n", "\tint main() {\n\t\treturn 0;\n\t}\n",
]


def rand_char(rng, lo, hi):
    cp = rng.randint(lo, hi)
    if 0xD800 <= cp <= 0xDFFF:  # surrogates cannot be encoded as UTF-8
        cp = 0xFFFD
    return chr(cp)


def prose(rng, n_sentences):
    sentences = []
    for _ in range(n_sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 18))]
        words[0] = words[0].capitalize()
        for i in range(1, len(words) - 1):
            if rng.random() < 0.08:
                words[i] += rng.choice([",", ";", ":", " -", "'s"])
            if rng.random() < 0.05:
                words[i] = rng.choice(['"', "(", "'"]) + words[i] + rng.choice(['"', ")", "'"])
        sentences.append(" ".join(words) + rng.choice([".", ".", ".", "!", "?", "...", ""]))
    return rng.choice([" ", " ", "  ", "\n", "\n\n"]).join(sentences)


def identifier(rng):
    parts = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
    style = rng.randrange(3)
    if style == 0:
        return "_".join(parts)
    if style == 1:
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    return "".join(p.capitalize() for p in parts)


def python_code(rng, indent):
    name, arg, other = identifier(rng), identifier(rng), identifier(rng)
    lines = [f"def {name}({arg}, {other}={rng.randint(0, 99)}):",
             f'{indent}"""{prose(rng, 1)}"""',
             f"{indent}if {arg} is None:",
             f"{indent * 2}return [{other} ** 2 for {other} in range({rng.randint(1, 999)})]",
             f"{indent}# {prose(rng, 1)}",
             f"{indent}result = {{'{arg}': {arg}, \"n\": len({arg})}}",
             f"{indent}return result", ""]
    return "\n".join(lines)


def c_code(rng, indent):
    name, var = identifier(rng), identifier(rng)
    lines = ["#include <stdio.h>", "", f"static int {name}(const char *{var}, size_t n) {{",
             f"{indent}for (size_t i = 0; i < n; ++i) {{",
             f"{indent * 2}if ({var}[i] == '\\n') return (int)i;  /* {rng.choice(WORDS)} */",
             f"{indent}}}", f"{indent}printf(\"%d %s\\n\", {rng.randint(-999, 999)}, {var});",
             f"{indent}return -1;", "}"]
    return "\n".join(lines)


def js_code(rng, indent):
    name, var = identifier(rng), identifier(rng)
    lines = [f"const {name} = async ({var}) => {{",
             f"{indent}const res = await fetch(`/api/${{{var}}}?limit={rng.randint(1, 500)}`);",
             f"{indent}if (!res.ok) {{ throw new Error('{prose(rng, 1)}'); }}",
             f"{indent}return res.json().then((x) => x.map((y) => y.{identifier(rng)} ?? null));",
             "};", f"export default {name};"]
    return "\n".join(lines)


def code(rng):
    indent = rng.choice(["    ", "  ", "\t", "        "])
    text = rng.choice([python_code, c_code, js_code])(rng, indent)
    if rng.random() < 0.3:
        text = text.replace("\n", "\r\n")
    return text


def whitespace_run(rng):
    pieces = []
    for _ in range(rng.randint(1, 8)):
        ws = "".join(rng.choice([" ", " ", "\t", "\n", "\r", "\u00a0", "\u3000", "\v", "\f"])
                     for _ in range(rng.randint(1, 12)))
        pieces.append(ws)
        if rng.random() < 0.7:
            pieces.append(rng.choice(WORDS))
    return "".join(pieces)


def script_text(rng):
    if rng.random() < 0.4:
        return rng.choice(SCRIPT_PHRASES)
    lo, hi = UNICODE_RANGES[rng.choice(sorted(UNICODE_RANGES))]
    words = ["".join(rand_char(rng, lo, hi) for _ in range(rng.randint(1, 8)))
             for _ in range(rng.randint(1, 6))]
    return rng.choice([" ", "", "、", ", "]).join(words)


def combining_text(rng):
    out = []
    for _ in range(rng.randint(1, 10)):
        out.append(rng.choice(string.ascii_letters + "αиو"))
        for _ in range(rng.randint(0, 3)):
            out.append(rng.choice(COMBINING))
    return "".join(out)


def flag(region):
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in region)


def emoji_text(rng):
    out = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(5)
        if kind == 0:
            out.append(rng.choice(EMOJI))
        elif kind == 1:
            out.append(rng.choice(["👍", "👋", "🙌", "👩", "🧑"]) + rng.choice(SKIN_TONES))
        elif kind == 2:
            out.append(rng.choice(ZWJ_SEQUENCES))
        elif kind == 3:
            out.append(flag(rng.choice(FLAG_REGIONS)))
        else:
            out.append(rng.choice(KEYCAPS))
        if rng.random() < 0.4:
            out.append(rng.choice([" ", " and ", "!", "\n", ""]) + rng.choice(WORDS))
    return "".join(out)


def number_text(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randint(0, 10 ** rng.randint(1, 60)))
    if kind == 1:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 12)}f}"
    if kind == 2:
        return f"{rng.randint(0, 10**9):,}"
    if kind == 3:
        return f"+1 ({rng.randint(200, 999)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if kind == 4:
        return f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return " ".join(str(rng.randint(0, 10**rng.randint(1, 6))) for _ in range(rng.randint(2, 9)))


def punctuation_text(rng):
    return "".join(rng.choice(string.punctuation + "«»¿¡—–…“”‘’·•§¶†‡")
                   for _ in range(rng.randint(1, 40)))


def url_text(rng):
    host = ".".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))) + rng.choice(
        [".com", ".org", ".io", ".co.uk", ".рф", ".中国"])
    path = "/".join(identifier(rng) for _ in range(rng.randint(0, 4)))
    query = "&".join(f"{rng.choice(WORDS)}={rng.randint(0, 9999)}" for _ in range(rng.randint(0, 3)))
    url = f"{rng.choice(['http', 'https', 'ftp'])}://{host}/{path}"
    if query:
        url += "?" + query
    if rng.random() < 0.3:
        url = f"See {url} for details."
    return url


def special_text(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        parts.append(rng.choice(SPECIAL_TEXTS) if rng.random() < 0.5 else rng.choice(WORDS))
    return rng.choice(["", " ", "\n"]).join(parts)


def rare_text(rng):
    lo, hi = rng.choice(RARE_RANGES)
    chars = [rand_char(rng, lo, hi) for _ in range(rng.randint(1, 10))]
    if rng.random() < 0.5:
        chars.insert(rng.randrange(len(chars) + 1), " " + rng.choice(WORDS) + " ")
    return "".join(chars)


def single_chars(rng):
    chars = [chr(c) for c in range(0x80)]
    for lo, hi in list(UNICODE_RANGES.values()) + RARE_RANGES:
        chars.extend(rand_char(rng, lo, hi) for _ in range(4))
    return chars


def repeated_runs():
    return ["a" * 500, " " * 100, "\n" * 50, "ab" * 200, "🙂" * 40, "ま" * 300, "=" * 80,
            "0" * 120, "<s>" * 30, "\t" * 33, "." * 64, "é" * 100]


def mixed_text(rng, generators):
    return rng.choice(["", " ", "\n"]).join(rng.choice(generators)(rng)
                                             for _ in range(rng.randint(2, 5)))


def generate_strings():
    rng = random.Random(SEED)
    generators = [lambda r: prose(r, r.randint(1, 4)), code, whitespace_run, script_text,
                  combining_text, emoji_text, number_text, punctuation_text, url_text,
                  special_text, rare_text]
    counts = [220, 140, 130, 230, 60, 110, 100, 80, 60, 60, 110]
    texts = list(FIXED) + single_chars(rng) + repeated_runs()
    for generator, count in zip(generators, counts):
        texts.extend(generator(rng) for _ in range(count))
    texts.extend(mixed_text(rng, generators) for _ in range(160))
    texts.extend(prose(rng, rng.randint(20, 40)) for _ in range(6))  # a few long ones
    return list(dict.fromkeys(texts))  # drop duplicates, keep the order


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_MODEL)
    sp = sentencepiece.SentencePieceProcessor(model_file=model)
    lines = []
    for text in generate_strings():
        ids = sp.encode(text, add_bos=False, add_eos=False)
        lines.append(json.dumps({"text": text, "ids": ids}, ensure_ascii=False) + "\n")
    data = "".join(lines).encode("utf-8")
    if len(data) > MAX_BYTES:
        sys.exit(f"goldens are {len(data)} bytes, over the {MAX_BYTES} limit")
    OUTPUT.write_bytes(data)
    print(f"wrote {len(lines)} goldens ({len(data)} bytes) to {OUTPUT}")


if __name__ == "__main__":
    main()
