"""The bounding-box page ``/items?bbox=…&limit=1000`` on PostGIS before and after a
publish, read in turn so that the machine's swings fall on both alike.

    .venv/bin/python -m benchmarks.bench_publish_page --db postgresql+psycopg://…/…bench

Two scratch databases, --db and the same name with ``2`` appended (both WIPED; the second
must exist), hold the same zone of --parcels parcels: in the first the list in force is
the only one, as before a publish; in the second the same list was put in force once more,
as a publish leaves the table (the old release kept beside the new one, the statistics
refreshed). Each round reads the page (``store.features.read`` on an engine set up as the
service's, median of 7) and times the database's own execution of its query (``EXPLAIN
ANALYZE``, median of 7) on both, the order alternating; the medians over the rounds and
their ratios are printed. ``bench_stocklist`` times the page before and after its own
publish too, but one after the other, where a slow minute of the machine shows as a
change.
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks.bench_stocklist import database_ms, middle, page_ms
from benchmarks.scratch import BENCH, wipe
from layers.catalog import LAYERS, PARCELS
from layers.demo import generate_zone
from layers.store.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, help="a PostGIS database named *bench*")
    parser.add_argument("--parcels", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=16)
    args = parser.parse_args()
    zone = generate_zone(parcels=args.parcels)
    served: dict[str, Store] = {}
    for label, url, lists in (("before", args.db, 1), ("after", args.db + "2", 2)):
        wipe(url)
        store = Store.open(url)
        for name, frame in zone.items():
            store.features.write(LAYERS[name], frame, actor=BENCH, replace=True)
        for _ in range(lists - 1):
            store.features.write(PARCELS, zone["parcels"], actor=BENCH, replace=True)
        store.close()
        served[label] = Store.open(url, statement_timeout_ms=30_000)  # as the service's
    box = middle(served["before"])
    pages: dict[str, list[float]] = {"before": [], "after": []}
    database: dict[str, list[float]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        for label in ("before", "after") if round_ % 2 else ("after", "before"):
            pages[label].append(page_ms(served[label], box, 7))
            executed = database_ms(served[label], box, 7)
            assert executed is not None  # PostGIS: wipe() refuses any other database
            database[label].append(executed)
    print(f"{args.parcels:,} parcels, {args.rounds} rounds; median ms of the rounds' medians")
    for what, times in (("bbox page, limit 1,000", pages), ("  in the database", database)):
        before, after = (statistics.median(times[k]) for k in ("before", "after"))
        print(f"{what:<28} before {before:6.1f}  after {after:6.1f}  ({after / before:.2f}×)")


if __name__ == "__main__":
    main()
