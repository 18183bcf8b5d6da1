"""What the paper venue charges for a trade: a maker and a taker rate (a negative maker rate
is a rebate, credited), and the currency each fee is paid in.

Real exchanges are untidier than "a fee in the quote currency": Binance charges BNB while
"BNB burn" is on and the BNB lasts, and the traded asset otherwise (so one order's fills may
pay in two currencies), and pays makers on some pairs (a negative commission). A journal
that must equal the exchange's money meets all of that, so the venue produces it. Nothing
here draws a random number: a fee schedule never changes which orders fill when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..core._values import to_decimal

if TYPE_CHECKING:  # _paper_records sums fees with fees_by_currency: no import cycle at run time
    from ._paper_records import MarketSpec, PaperTrade

#: A fee converted into another currency is rounded to Binance's commission precision.
FEE_PLACES: Final = Decimal("1e-8")


def _rate(value: object) -> Decimal:
    result = to_decimal(value, "a fee rate")
    if not -1 < result < 1:
        raise ValueError(f"fee rates must be within (-1, 1), not {value!r}")
    return result


def _currencies(value: Iterable[str | None]) -> tuple[str | None, ...]:
    result = tuple(value)
    if not result or not all(c is None or (isinstance(c, str) and c) for c in result):
        raise ValueError(f"fee_currencies must be currency codes or None, not {value!r}")
    return result


@attrs.frozen
class FeeSchedule:
    """``taker``: the rate of trades that take (a market order, a limit order marketable when
    placed); ``maker``: the rate of a resting order's fills, negative for a rebate.

    ``currencies``: the k-th trade of an order pays its fee in ``currencies[k % len]``; None
    is the market's quote currency (the default, and what the venue always charged). A named
    currency is charged while its free balance covers the fee, else the quote (as Binance
    falls back when the BNB runs out): in the market's base it is ``amount * rate``, exactly
    (Binance's commission on the asset received); in any other currency C the quote fee
    converted at the mid of the C/quote market, rounded to ``FEE_PLACES``.
    """

    taker: Decimal = attrs.field(converter=_rate)
    maker: Decimal = attrs.field(converter=_rate)
    currencies: tuple[str | None, ...] = attrs.field(default=(None,), converter=_currencies)

    @property
    def hold_rate(self) -> Decimal:
        """The rate a buy's hold counts: the dearer of the two, as a limit order takes when
        it is marketable on arrival and makes once it rests."""
        return max(self.taker, self.maker)

    def check(self, specs: Iterable[MarketSpec]) -> None:
        """ValueError if a named fee currency cannot be priced on one of the markets."""
        specs = list(specs)
        pairs = {(s.base, s.quote) for s in specs}
        for spec in specs:
            for cur in self.currencies:
                if cur is not None and cur not in (spec.base, spec.quote) \
                        and (cur, spec.quote) not in pairs:
                    raise ValueError(f"fees in {cur} cannot be charged on {spec.symbol}: "
                                     f"there is no {cur}/{spec.quote} market to price them")

    def charge(self, spec: MarketSpec, nth: int, price: Decimal, amount: Decimal, maker: bool,
               free: Mapping[str, Decimal], mid: Callable[[str, str], Decimal]
               ) -> tuple[str, Decimal]:
        """(currency, fee) of an order's ``nth`` trade (from 0); ``free`` is the balance
        after the trade itself, ``mid(base, quote)`` the mid price of a market."""
        rate = self.maker if maker else self.taker
        in_quote = price * amount * rate
        wanted = self.currencies[nth % len(self.currencies)]
        if wanted is None or wanted == spec.quote:
            return spec.quote, in_quote
        if wanted == spec.base:
            fee = amount * rate
        else:
            fee = (in_quote / mid(wanted, spec.quote)).quantize(FEE_PLACES)
        if fee > free.get(wanted, Decimal(0)):
            # A buy's hold counted the quote fee; a sell pays it out of its proceeds.
            return spec.quote, in_quote
        return wanted, fee

    def to_config(self) -> dict[str, Any]:
        return {"fee_rate": str(self.taker), "maker_fee_rate": str(self.maker),
                "fee_currencies": list(self.currencies)}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> FeeSchedule:
        """From ``to_config``'s keys; a state saved before there was a maker rate or fee
        currencies charged the taker rate in the quote currency."""
        return cls(taker=Decimal(cfg["fee_rate"]),
                   maker=Decimal(cfg.get("maker_fee_rate", cfg["fee_rate"])),
                   currencies=tuple(cfg.get("fee_currencies", [None])))


def fees_by_currency(trades: Iterable[PaperTrade]) -> dict[str, Decimal]:
    """The trades' fees summed per currency, in the order the currencies first appear (as
    ccxt's ``reduce_fees_by_currency``); a negative sum is a rebate."""
    fees: dict[str, Decimal] = {}
    for t in trades:
        fees[t.fee_currency] = fees.get(t.fee_currency, Decimal(0)) + t.fee
    return fees
