"""The registry of field kinds (layers/values.py) and the labels of coded values
(``FieldSpec.labels``): every kind is described once, every field's column has its kind's
dtype, and every coded value people read on pages and maps has a label in both languages."""

from __future__ import annotations

from typing import get_args

import pytest

from layers.catalog import LAYERS
from layers.frames import empty_frame
from layers.schema import FieldKind, FieldSpec
from layers.values import TYPES, field_type

LABELLED = {
    ("parcels", "land_use"),
    ("parcels", "stock_cat"),
    ("parcels", "status"),
    ("factories", "status"),
    ("infrastructure", "kind"),
}
"""Coded fields whose values the pages and maps show with their labels (and the facts'
``_st``)."""


def test_every_kind_is_in_the_registry() -> None:
    assert set(TYPES) == set(get_args(FieldKind))
    assert {t.family for t in TYPES.values()} == {"str", "number", "bool", "date"}
    assert [k for k, t in TYPES.items() if t.ordered] == ["int", "float", "date"]


@pytest.mark.parametrize("name", LAYERS)
def test_empty_frames_have_the_registry_dtypes(name: str) -> None:
    spec = LAYERS[name]
    frame = empty_frame(spec)
    for f in spec.stored_fields:
        assert str(frame[f.name].dtype) == field_type(f).dtype, f.name


def test_coded_fields_have_labels_in_both_languages() -> None:
    labelled = set()
    for spec in LAYERS.values():
        for f in spec.fields:
            if f.name.endswith("_st"):
                assert f.labels, f.name
            if not f.labels:
                continue
            labelled.add((spec.name, f.name))
            assert f.choices == tuple(f.labels)
            for value, (zh, en) in f.labels.items():
                assert zh and en, (spec.name, f.name, value)
                assert f.label(value) == (zh, en)
    assert LABELLED.issubset(labelled)


def test_labels_or_choices_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        FieldSpec("x", "str", "x", "x", choices=("a",), labels={"a": ("甲", "a")})
