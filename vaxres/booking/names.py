"""Vaccine names that read alike: "Pfizеr" (a Cyrillic е), "Ｐｆｉｚｅｒ" (full width) and "Pfizer"
are one name to a reader. A new name or alias is compared with the catalog's in their look-alike
form (`look_key`: NFKC, casefold, then the UTS #39 confusables skeleton) and refused when it
matches another vaccine's; a word that mixes scripts is refused outright. An unknown name that
looks like a catalog one gets a hint naming it.

The Unicode data (confusables and scripts) comes from confusable_homoglyphs, imported only
here, inside the functions, and only when a name is added or is not in the catalog.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

from vaxres.booking import catalog_rules
from vaxres.booking.model import VaccineRecord
from vaxres.errors import InvalidValue, NotFound, Refused

# Characters of these scripts go with any other (digits, punctuation, spaces, combining marks).
_ANY_SCRIPT = {"COMMON", "INHERITED"}
# Scripts one word may mix, as the languages write them (UTS #39 augmented script sets):
# Japanese, Korean, and Chinese with Bopomofo.
_WRITTEN_TOGETHER = ({"HAN", "HIRAGANA", "KATAKANA"}, {"HAN", "HANGUL"}, {"HAN", "BOPOMOFO"})
_NOTED_CHARACTERS = 2  # named in a refusal; past them, how many more


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character → the text it is read as (its UTS #39 prototype).

    confusable_homoglyphs keeps confusables.txt's pairs in both directions; a pair's source is
    the side that has one partner only while the other side has several, or is a sequence
    ("m" → "rn"). A pair of two single characters each other's only partner is read as its
    smaller character (for comparing, either side will do). Right-to-left characters carry
    the left-to-right marks of the file's comments, dropped here.
    """
    from confusable_homoglyphs.confusables import confusables_data

    def clean(text: str) -> str:
        return text.replace("\u200e", "")

    partners = {clean(key): [clean(entry["c"]) for entry in entries] for key, entries in confusables_data.items()}
    table = {}
    for char, others in partners.items():
        if len(char) != 1 or len(others) != 1:
            continue
        other = others[0]
        if len(other) > 1 or len(partners.get(other, ())) > 1 or other < char:
            table[char] = other
    return table


def skeleton(text: str) -> str:
    """UTS #39's skeleton: NFD, each character replaced by its prototype, NFD again (repeated
    until nothing changes, since a pair read as either side may leave a mapped character)."""
    table = _prototypes()
    current = unicodedata.normalize("NFD", text)
    for _ in range(4):
        mapped = unicodedata.normalize("NFD", "".join(table.get(char, char) for char in current))
        if mapped == current:
            break
        current = mapped
    return current


@functools.lru_cache(maxsize=4096)
def look_key(name: str) -> str:
    """The form in which two names that read alike are equal: NFKC, casefold, skeleton, casefold."""
    return skeleton(unicodedata.normalize("NFKC", name).casefold()).casefold()


def _unusual(name: str, existing: str) -> str:
    """The characters a reader cannot tell apart from the existing name's, named: ' (U+0435 ...)'."""
    seen = []
    for char in dict.fromkeys(name):
        if not char.isascii() and char not in existing and look_key(char) != char.casefold():
            seen.append(f"U+{ord(char):04X} {unicodedata.name(char, 'an unnamed character')}")
    if len(seen) > _NOTED_CHARACTERS:
        seen[_NOTED_CHARACTERS - 1 :] = [f"{seen[_NOTED_CHARACTERS - 1]} and {len(seen) - _NOTED_CHARACTERS} more"]
    return f" ({', '.join(seen)})" if seen else ""


def _described(spelling: str, vaccine: VaccineRecord) -> str:
    if spelling == vaccine.name:
        return f"the existing vaccine {vaccine.name}"
    return f"{spelling!r}, an alias of the existing vaccine {vaccine.name}"


class LooksLikeVaccine(Refused):
    """A new name or alias that reads as another vaccine's name or alias (exit 1)."""

    code = "looks_like_vaccine"

    def __init__(self, field: str, name: str, spelling: str, vaccine: VaccineRecord):
        super().__init__(
            f"{field} {name!r} looks like {_described(spelling, vaccine)}{_unusual(name, spelling)}; "
            f"use {vaccine.name}, or choose a distinct name",
            details={"field": field, "name": name, "looks_like": vaccine.name},
        )


class MixedScripts(InvalidValue):
    """A word written in two scripts, such as Latin with a Cyrillic letter (exit 2)."""

    code = "mixed_scripts"

    def __init__(self, field: str, name: str, word: str, scripts: list[str]):
        reason = (
            f"mixes {' and '.join(s.title() for s in scripts)} letters in the word {word!r}; "
            f"write each word in one script"
        )
        details = {"field": field, "name": name, "word": word, "scripts": list(scripts)}
        super().__init__(field, name, reason, f"{field} {name!r} {reason}", details=details)


class UnknownLookalike(catalog_rules.UnknownVaccine):
    """An unknown vaccine that reads as a catalog one: the hint names it (exit 2, as before)."""

    def __init__(self, name: str, spelling: str, vaccine: VaccineRecord):
        reason = (
            f"is not in the catalog, but looks like {_described(spelling, vaccine)}{_unusual(name, spelling)}; "
            f"did you mean {vaccine.name}?"
        )
        details = {"vaccine": name, "looks_like": vaccine.name}
        InvalidValue.__init__(self, "vaccine", name, reason, f"vaccine {name!r} {reason}", details=details)


def mixed_scripts(name: str) -> tuple[str, list[str]] | None:
    """The first word (between spaces) that mixes scripts, and its scripts in order; None if none does."""
    from confusable_homoglyphs.categories import alias

    for word in name.split():
        scripts = list(dict.fromkeys(s for s in map(alias, word) if s not in _ANY_SCRIPT))
        if len(scripts) > 1 and not any(set(scripts) <= allowed for allowed in _WRITTEN_TOGETHER):
            return word, scripts
    return None


class LookAlikes:
    """A catalog's spellings by their look-alike key, built when first asked (the catalog is small)."""

    def __init__(self, vaccines: Iterable[VaccineRecord]):
        self._vaccines = list(vaccines)
        self._by_look: dict[str, tuple[str, VaccineRecord]] | None = None

    def find(self, name: str) -> tuple[str, VaccineRecord] | None:
        """The catalog spelling `name` reads as, with its vaccine."""
        if self._by_look is None:
            self._by_look = {}
            for vaccine in self._vaccines:
                for spelling in (vaccine.name, *vaccine.aliases):
                    self._by_look.setdefault(look_key(spelling), (spelling, vaccine))
        return self._by_look.get(look_key(name))

    def check_new(self, name: str, *, field: str, owner: str | None = None) -> None:
        """A new name or alias (of `owner`, when it is an alias of a vaccine in the catalog): refused
        when it reads as another vaccine's spelling (exit 1), or when a word mixes scripts (exit 2)."""
        found = self.find(name)
        if found is not None and found[1].name != owner:
            raise LooksLikeVaccine(field, name, *found)
        mixed = mixed_scripts(name)
        if mixed is not None:
            raise MixedScripts(field, name, *mixed)

    def unknown(self, name: str, known: list[str], normalized: str | None = None) -> catalog_rules.UnknownVaccine:
        """The refusal of a name the catalog does not have: with a hint when it reads as one it has."""
        found = self.find(name if normalized is None else normalized)
        return catalog_rules.UnknownVaccine(name, known) if found is None else UnknownLookalike(name, *found)

    def not_found(self, name: str) -> NotFound:
        found = self.find(name)
        if found is None:
            return catalog_rules.VaccineNotFound(name)
        return NotFound(
            f"there is no vaccine {name!r}, but it looks like {_described(found[0], found[1])}"
            f"{_unusual(name, found[0])}; did you mean {found[1].name}?",
            code=catalog_rules.VaccineNotFound.code,
        )
