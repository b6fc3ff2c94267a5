#!/usr/bin/env python3
"""Writes corpus.jsonl: the hard-on-purpose corpus the tokenizer oracle tests
run through vireo and Hugging Face tokenizers. Deterministic; re-run after
editing and commit both files."""
import json, random, sys, unicodedata

rng = random.Random(1234)
lines = []
def add(t): lines.append(t)

# empty and whitespace-only
for t in ["", " ", "  ", "   ", "\n", "\n\n", "\t", "\t\t", "\r\n", "\r\n\r\n", " \n ", "\n \n\t", "\u00a0", "\u3000", " \u00a0 ", "\u2003\u2009"]:
    add(t)
# code: tabs, space runs, newline runs
add("def f(x):\n\tif x > 0:\n\t\treturn x * 2\n\treturn -x\n\n\n\nprint(f(3))\n")
add("int main(void) {\n    int a[3] = {1, 2, 3};\n    for (int i = 0; i < 3; i++)\n        printf(\"%d\\n\", a[i]);\n    return 0;\n}\n")
add("    leading spaces\n        and more   \ttrailing\t \n")
add("x = [1,2,3]  # comment     with    runs\r\n\r\ny = {'a': 1, \"b\": [True, None]}\r\n")
add("<div class=\"a\">\n  <p>Hi &amp; bye</p>\n</div>")
add("SELECT * FROM t WHERE id IN (1, 2, 3) AND name LIKE '%foo%';")
add("fn main() { let v: Vec<u8> = vec![0x1F, 0xff]; println!(\"{:?}\", v); }")
add("```python\nimport numpy as np\narr = np.zeros((3, 4))\n```\n")
add("a\tb\t\tc\t\t\td    e     f\n\n\ng")
add("   \n\n   \n\t\n  x")
# numbers
add("1234567890 12 123 1234 12345 3.14159 -42 +7 1,000,000 1e-10 0x1F 007 2024-01-15 12:30:45")
add("The year 1999 had 365 days; π≈3.14159265358979; 10^9+7; ½ ¾ ² ³ ١٢٣ ४५६ 一二三")
add("$100.00 €50 £30 ¥1000 ₹500 50% #1 №5")
# scripts
add("안녕하세요, 세계! 한국어 텍스트를 토큰화합니다. 저는 학생입니다.")
add("你好，世界！这是一个中文句子，用于测试分词器。我们今天去公园散步了。")
add("こんにちは世界。これは日本語のテキストです。カタカナとひらがなと漢字。ﾊﾝｶｸｶﾀｶﾅ")
add("مرحبا بالعالم! هذا نص عربي لاختبار المحلل. السَّلامُ عَلَيْكُم")
add("नमस्ते दुनिया! यह हिंदी पाठ है। क्षत्रिय ज्ञान श्री")
add("Привет, мир! Это русский текст. Ёжик в тумане. ПРИВЕТ МИР")
add("שלום עולם! Γειά σου Κόσμε! สวัสดีชาวโลก ภาษาไทย Xin chào thế giới! Tiếng Việt")
add("ሰላም ልዑል  ᠮᠣᠩᠭᠣᠯ ꦗꦮ 𐍈𐌰𐌿𐍃 ꙮ")
# emoji
add("👨‍👩‍👧‍👦 family, 👍🏽 thumbs, 🇯🇵🇺🇸 flags, 🏳️‍🌈 rainbow, 🧑🏿‍💻 coder, ❤️ heart, 😀😃😄")
add("🤗🤗🤗 emoji run 🫠🥹 new ones ✨⭐️ ©️®️™️ #️⃣ 1️⃣")
add("👩🏻‍❤️‍💋‍👨🏼")
# combining marks, NFC and NFD
for t in ["café naïve résumé Ångström", "Tiếng Việt có dấu: Hà Nội, Đà Nẵng", "ḱṷṓn ǅ ǈ ǋ", "Zalgo: Z̸̡̢͎̜a̵̧̛̺l̷̢̛͙g̶̼̓o̵̡͐"]:
    add(unicodedata.normalize("NFC", t))
    add(unicodedata.normalize("NFD", t))
add("e\u0301 e\u0301\u0301 a\u030a\u0323 \u0301leading mark")
add("jamo \u1100\u1161\u11a8 \u1112\u1161\u11ab; alef+madda \u0627\u0653; ohm \u2126 angstrom \u212b kelvin \u212a")
add("excluded \u0958\u0929 \u0928\u093c; reorder a\u0323\u0302 q\u0307\u0323; greek \u0374\u037e\u0387 x\u0308y \u1e9b\u0323")
add("tamil \u0bc6\u0bbe kana \u304b\u3099 \u30cf\u309a em\u2000space\u2001")
add("ﬁ ﬂ ＡＢＣ１２３ ｈｅｌｌｏ Ⅻ x² H₂O ㎏ ℃ ™")
add("İstanbul ıi İI straße STRASSE ǅungla")
# special-token strings inside ordinary text
add("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n")
add("text<|endoftext|>more text <|endoftext|> and<|endoftext|><|endoftext|>")
add("<s>Hello</s> <s> world </s>  <unk> <pad>")
add("<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n")
add("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>")
add("<｜begin▁of▁sentence｜>Hello<｜end▁of▁sentence｜> <｜User｜>q<｜Assistant｜>")
add("<|start|>user<|message|>hi<|end|><|start|>assistant<|channel|>final<|message|>")
add("[CLS] hello [SEP] [MASK] [UNK] [PAD]")
add("<tool_call>{\"name\": \"f\"}</tool_call> <think>\nreasoning\n</think>")
add("partial <|im_start <s <|endoftext| <|endoftext|>> <<|im_end|>>")
add("<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>")
# contractions and case
add("I'm sure we've got it; they'll say you'd've DON'T WON'T I'LL It's O'Neil's")
add("HELLO World hello WORLD HeLLo wOrLd CamelCaseIdentifiers snake_case_name")
# punctuation
add("!!!???... --- ——— … ¿¡ «» „“ ‘’ ... ,,,;;; ::: ((([[[{{{ }}}]]]))) @@@ ### $$$ %%% ^^^ &&& ***")
add("email: someone@example.com url: https://example.com/path?q=1&r=2#frag")
# invisible / control
add("zero\u200bwidth\u200c\u200djoiner \ufeffBOM soft\u00adhyphen")
add("ctrl\u0000nul\u0007bell\u001bescape\u007fdel\u0085nel")
add("line\u2028sep\u2029para\u000bvt\u000cff")
# long words
add("a" * 20000)
add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(20000)))
add("日本語" * 3000)
add("🤗" * 2000)
add("ab" * 4000 + " " + "x" * 5000)
add("1234567890" * 1000)
add(" " * 3000 + "x")
add("\n" * 1000)
add("é" * 3000 + unicodedata.normalize("NFD", "é") * 3000)
# a mixed paragraph
add("Mixed: Hello世界123abc мир🌍 مرحبا नमस्ते 한국 — done.\r\n\r\nNext\tline\r")
rng2 = random.Random(99)
pool = "aeiou xyz 中文 한국 ру́сский 🤗 \n\t 123 .,!? é e\u0301 <s> <|im_start|> ".split(" ")
for i in range(20):
    add(" ".join(rng2.choice(pool) for _ in range(rng2.randint(1, 40))))

# random mixes of pieces that stress added-token matching, U+2581 cuts
# (gemma3 has a merge result ">▁</"), normalization and byte fallback
rng3 = random.Random(7)
pool3 = list("ab cdeé>< /\n\t▁▁ 12") + ["</", ">▁</", "> </", "<s>", "</s>", "<bos>", "<|im_start|>",
    "中", "🤗", "👍🏽", "e\u0301", "\u0301", "  ", "\r\n", "'s", "'LL", "Ж",
    "ا", "\u00a0", "\u3000", "<0x41>", "<unk>", "<start_of_turn>", "<|endoftext|>",
    "<｜end▁of▁sentence｜>", "<|begin_of_text|>", "...", "!!", "ﬁ", "İ"]
pool3 = [p.encode().decode("unicode_escape") if "\\" in p else p for p in pool3]
for i in range(40):
    add("".join(rng3.choice(pool3) for _ in range(rng3.randint(0, 60))))

with open(sys.argv[1] if len(sys.argv) > 1 else "corpus.jsonl", "w", encoding="utf-8") as f:
    for i, t in enumerate(lines):
        f.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")
