"""The translation catalogs: every text on the pages exists in Korean and Russian, the
compiled catalogs the server loads match their sources, and no translation loses a
placeholder (the page would show ``{number}`` or drop the patient's number)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "queue_app" / "translations"
#: ``{room}``, or ``{room|로}`` with the Korean particle that fits the room's name.
PLACEHOLDER = re.compile(r"\{(\w+)(?:\|\w+)?\}")


def source_texts() -> set[str]:
    """What ``pybabel extract -F babel.cfg`` finds in the code and templates."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", ["ko", "ru"])
def test_every_text_is_translated(language):
    texts = source_texts()
    assert len(texts) > 100  # the extraction itself worked
    translated = {m.id: m for m in catalog(language) if m.id}
    missing = sorted(t for t in texts if t not in translated or not translated[t].string)
    fuzzy = sorted(m.id for m in translated.values() if m.fuzzy)
    assert not missing, f"untranslated in {language}: {missing}"
    assert not fuzzy, f"fuzzy (unchecked) in {language}: {fuzzy}"


@pytest.mark.parametrize("language", ["en", "ko", "ru"])
def test_compiled_catalog_matches_its_source(language):
    """A .po edited without ``pybabel compile`` leaves the server showing the old texts."""
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = {m.id: m.string for m in read_mo(mo) if m.id}
    source = {m.id: m.string for m in catalog(language) if m.id and m.string and not m.fuzzy}
    assert compiled == source


@pytest.mark.parametrize("language", ["ko", "ru"])
def test_translations_keep_their_placeholders(language):
    wrong = [
        (m.id, m.string)
        for m in catalog(language)
        if m.id and m.string and set(PLACEHOLDER.findall(m.id)) != set(PLACEHOLDER.findall(m.string))
    ]
    assert not wrong


def test_korean_never_writes_both_forms_of_a_particle():
    """ "{room}(으)로" reads as a form nobody filled in: ``{room|로}`` picks the one that fits."""
    both = re.compile(r"\(으\)|이\(가\)|을\(를\)|은\(는\)|와\(과\)")
    assert [m.string for m in catalog("ko") if m.string and both.search(m.string)] == []


def test_the_template_lists_every_text_of_the_code():
    """``messages.pot`` is where a new language starts (``pybabel init``): a text missing there
    would be missing from that language until someone noticed.  Made again with the command in
    ``babel.cfg``."""
    with open(TRANSLATIONS / "messages.pot", "rb") as pot:
        listed = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot) if m.id}
    assert listed == source_texts()
