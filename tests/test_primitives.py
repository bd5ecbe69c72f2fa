"""The Σ-primitive registry: 256 ids, three tiers by range, look-ups both ways."""

from __future__ import annotations

import pytest

from sigmalang import primitives
from sigmalang.primitives import GlyphType, Tier


def test_registry_has_256_entries_with_their_own_ids():
    assert primitives.COUNT == 256
    assert len(primitives.ALL) == 256
    assert [p.id for p in primitives.ALL] == list(range(256))


@pytest.mark.parametrize(
    ("ids", "tier"),
    [(range(0, 16), Tier.EXISTENTIAL), (range(16, 128), Tier.DOMAIN), (range(128, 256), Tier.LEARNED)],
)
def test_tiers_follow_the_id_ranges(ids, tier):
    for i in ids:
        assert primitives.by_id(i).tier is tier
        assert primitives.tier_of(i) is tier


def test_names_are_unique():
    names = [p.name for p in primitives.ALL]
    assert len(set(names)) == 256


def test_by_id_and_by_name_are_inverse():
    for p in primitives.ALL:
        assert primitives.by_name(p.name) is p
        assert primitives.by_id(primitives.by_name(p.name).id) is p


def test_by_name_ignores_case():
    assert primitives.by_name("frame") is primitives.by_name("FRAME")


def test_container_records_have_their_documented_ids():
    assert primitives.by_id(16).name == "STREAM_HEADER"
    assert primitives.by_name("FRAME").id == 17 == primitives.FRAME
    assert primitives.by_name("INDEX").id == 18 == primitives.INDEX
    assert primitives.by_name("TRAILER").id == 19 == primitives.TRAILER
    assert primitives.by_name("LITERAL").tier is Tier.EXISTENTIAL


@pytest.mark.parametrize("bad", [-1, 256, 1000])
def test_bad_id_raises_value_error(bad):
    with pytest.raises(ValueError):
        primitives.by_id(bad)
    with pytest.raises(ValueError):
        primitives.tier_of(bad)


def test_unknown_name_raises_key_error():
    with pytest.raises(KeyError):
        primitives.by_name("NO_SUCH_PRIMITIVE")


def test_glyph_types_are_two_bit_values():
    assert [int(t) for t in GlyphType] == [0, 1, 2, 3]
    assert [t.name for t in GlyphType] == ["PRIMITIVE", "REFERENCE", "DELTA", "COMPOSITE"]


def test_str_names_the_primitive():
    assert str(primitives.by_id(17)) == "Σ17 FRAME"
