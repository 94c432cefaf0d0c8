"""Names as a linker compares them: normalised keys with their variants, and abbreviations defined in a document.

`normalize` folds what does not change a concept: case, Unicode forms, Greek letters (alpha = α), hyphens, slashes,
brackets and other punctuation (as spaces), repeated spaces. `variants` adds what a name may be written as: the
singular of its last word, and an inverted "X, Y" name read as "Y X". `abbreviations` finds the short forms a
document defines, "cisplatin-induced nephrotoxicity (CIN)", with the Schwartz-Hearst rule.
"""

import re
import unicodedata

GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "ο": "omicron",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "ς": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
NON_WORD = re.compile(r"[^0-9a-z]+")
# Plural endings, longest first: "-ies" -> "-y" (allergies), "-es" after s/x/z/ch/sh (viruses), else "-s".
PLURALS = ((re.compile(r"ies$"), "y"), (re.compile(r"([sxz]|[cs]h)es$"), r"\1"), (re.compile(r"(?<![siu])s$"), ""))


def normalize(name: str) -> str:
    """The comparison key of a name: `"Alzheimer's-Disease"` and `"alzheimer s disease"` share one."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = "".join(GREEK.get(char, char) for char in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))  # é -> e
    return NON_WORD.sub(" ", text).strip()


def singular(key: str) -> str:
    """`key` with its last word made singular (a normalised key in, a key out)."""
    head, _, last = key.rpartition(" ")
    if len(last) <= 4:  # "aids", "mass": too short to tell a plural
        return key
    for pattern, replacement in PLURALS:
        if pattern.search(last):
            return f"{head} {pattern.sub(replacement, last)}".strip()
    return key


def variants(name: str) -> list[str]:
    """Keys to look a name up by, most literal first: the key, its singular, and for an inverted name
    ("Leukemia, Myeloid") the name read in order ("myeloid leukemia") and its singular."""
    keys = [normalize(name)]
    if name.count(",") == 1:
        first, second = (part.strip() for part in name.split(","))
        if first and second:
            keys.append(normalize(f"{second} {first}"))
    keys += [singular(key) for key in keys]
    return list(dict.fromkeys(key for key in keys if key))


SHORT_FORM = re.compile(r"\(([^()]{1,15})\)")


def abbreviations(text: str) -> dict[str, str]:
    """Short form -> long form for every "long form (SF)" a text defines (Schwartz & Hearst 2003): the short form has
    a letter, starts with a letter or digit, and at most 2 words; the long form is the shortest run of words before
    the bracket, of at most min(|SF| + 5, 2|SF|) words, whose characters contain the short form's in order, every
    word-initial one matched at a word start."""
    found = {}
    for match in SHORT_FORM.finditer(text):
        short = match.group(1).strip()
        if not (short and short[0].isalnum() and any(c.isalpha() for c in short) and len(short.split()) <= 2):
            continue
        before = text[: match.start()].rstrip()
        words = before.split()
        limit = min(len(short) + 5, 2 * len(short))
        for count in range(1, min(limit, len(words)) + 1):
            candidate = " ".join(words[-count:])
            if _matches(short, candidate):
                found.setdefault(short, candidate.strip(" ,;:"))
                break
    return found


def _matches(short: str, long: str) -> bool:
    """Schwartz-Hearst's match: the short form's letters and digits appear in the long form from right to left, the
    first one at the start of a word of the long form."""
    s, l = len(short) - 1, len(long) - 1
    while s >= 0:
        char = short[s].lower()
        if not char.isalnum():
            s -= 1
            continue
        while l >= 0 and (long[l].lower() != char or (s == 0 and l > 0 and long[l - 1].isalnum())):
            l -= 1
        if l < 0:
            return False
        l -= 1
        s -= 1
    return len(long.split()) > 1 or len(long) > len(short)
