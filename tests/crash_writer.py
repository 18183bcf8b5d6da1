"""The child process of test_crash.py: journals transitions until it is killed.

    python crash_writer.py JOURNAL DURABILITY SEED

After each commit it prints how many commits are done (one row each) and flushes, so the
parent knows a lower bound of what the journal must hold whenever the SIGKILL lands.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator

from fsm_executor import (
    Acknowledge,
    Cancel,
    Event,
    Fill,
    LoseAnswer,
    OrderBook,
    OrderSpec,
    RequestCancel,
    Submit,
)


def plan(seed: int) -> Iterator[tuple[str, OrderSpec | Event]]:
    """An endless, seeded stream of legal (order id, spec or event) steps."""
    rng = random.Random(seed)
    i = 0
    while True:
        order_id = f"o{i}"
        pieces = rng.randint(1, 6)  # the amount, in fills of 0.5
        yield order_id, OrderSpec(order_id, "BTC/USDT", "buy", "limit", str(pieces / 2), "100")
        yield order_id, Submit()
        if rng.random() < 0.2:
            yield order_id, LoseAnswer("timeout")
        yield order_id, Acknowledge(f"ex-{i}")
        fills = rng.randint(0, pieces)
        for k in range(fills):
            yield order_id, Fill(f"{order_id}-t{k}", "0.5", str(100 + k), "0.001", "USDT")
        if fills < pieces:
            yield order_id, RequestCancel("stale")
            yield order_id, Cancel("cancelled")
        i += 1


def trigger_of(item: OrderSpec | Event) -> str:
    return "create" if isinstance(item, OrderSpec) else item.trigger


def main() -> None:
    path, durability, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with OrderBook.open(path, durability=durability) as book:  # type: ignore[arg-type]
        for done, (order_id, item) in enumerate(plan(seed), start=1):
            if isinstance(item, OrderSpec):
                book.create(item)
            else:
                book.apply(order_id, item)
            sys.stdout.write(f"{done}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
