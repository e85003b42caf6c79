"""The cycle collector is off while a zone is built and as it was once every build ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from layers.demo import generate_zone
from matching import zone as zone_module
from matching.collector import collector_held


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was_on = gc.isenabled()
    yield
    (gc.enable if was_on else gc.disable)()


def test_a_build_runs_with_the_collector_off_and_turns_it_back_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gc.enable()
    seen = []
    derive = zone_module.derive

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return derive(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zone_module, "derive", watched)
    zone_module.build_zone(generate_zone(parcels=30))
    assert seen and not any(seen)
    assert gc.isenabled()


def test_a_failed_build_turns_it_back_on_too() -> None:
    gc.enable()
    with pytest.raises(KeyError):
        zone_module.build_zone({})
    assert gc.isenabled()


def test_it_stays_off_until_the_last_of_overlapping_builds_ends() -> None:
    gc.enable()
    first_in, second_out = threading.Event(), threading.Event()
    states = []

    def first() -> None:
        with collector_held():
            first_in.set()
            second_out.wait(5)
            states.append(("first, after the second ended", gc.isenabled()))

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with collector_held():
        states.append(("second", gc.isenabled()))
    second_out.set()
    thread.join(5)
    assert states == [("second", False), ("first, after the second ended", False)]
    assert gc.isenabled()


def test_a_process_that_turned_it_off_keeps_it_off() -> None:
    gc.disable()
    with collector_held():
        pass
    assert not gc.isenabled()
