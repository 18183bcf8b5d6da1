"""An asyncio bot's order layer: a handful of orders placed at once with
``AsyncTradeExecutor``, through the real ``ccxt.async_support.binance`` client.

No account and no internet: the exchange is fsm-executor's paper venue, served as
Binance's spot REST API on 127.0.0.1 by ``BinanceServer`` in this very process. Against
real Binance, build the client as ``ccxt.async_support.binance({"apiKey": ...,
"secret": ..., "enableRateLimit": True})`` instead, and drop the server and the venue.

Run it from the repository root (it takes a few seconds; ``fsm_executor.testing`` needs
the ``testing`` extra, which ``make install`` includes):

    python examples/async_bot.py [JOURNAL]

JOURNAL is a new journal file (by default one in a fresh temporary directory); check it
afterwards with ``fsm-executor audit JOURNAL``.
"""

import asyncio
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from fsm_executor import AsyncTradeExecutor, SystemClock
from fsm_executor.testing import BinanceServer, PaperExchange, async_binance_client

# The paper venue lives only as long as this process: its journal is a new one too.
JOURNAL = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "orders.db"
CONFIG = {"slippage_tolerance_pct": 0.1, "order_timeout_seconds": 30, "poll_interval_seconds": 0.5}


def signal(sid: str, symbol: str, side: str, amount: str, price: Decimal,
           order_type: str) -> dict[str, str]:
    return {"id": sid, "symbol": symbol, "side": side, "amount": amount,
            "price": str(price), "order_type": order_type}


async def main() -> None:
    # Binance shows a new order to lookups only after a few seconds and lists its trades
    # late; the paper venue imitates it, with both lags shortened to keep this quick.
    venue = PaperExchange(SystemClock(), seed=7, visibility_lag=0.2, trade_lag=0.2)
    btc, eth = venue.mid("BTC/USDT"), venue.mid("ETH/USDT")
    signals = [  # the price is the reference the slippage tolerance is measured from
        signal("buy-btc-now", "BTC/USDT", "buy", "0.01", btc, "market"),
        signal("sell-eth-now", "ETH/USDT", "sell", "0.5", eth, "market"),
        signal("buy-btc-at-mid", "BTC/USDT", "buy", "0.01", btc, "limit"),
        signal("buy-btc-dip", "BTC/USDT", "buy", "0.01", btc * Decimal("0.98"), "limit"),
        signal("sell-eth-high", "ETH/USDT", "sell", "0.5", eth * Decimal("1.02"), "limit"),
    ]
    with BinanceServer(venue, api_key="demo-key", secret="demo-secret") as server:
        # Leaving the block closes the executor (its journal), then ccxt's aiohttp session.
        async with async_binance_client(server) as exchange, \
                AsyncTradeExecutor(exchange, JOURNAL, CONFIG) as executor:
            # All placed at once; each order is then followed in the background.
            placed = await asyncio.gather(*(executor.submit(s) for s in signals))
            waits = [asyncio.create_task(executor.wait(o.client_order_id)) for o in placed]
            # The market orders end at once; limits away from the market rest on the book.
            await asyncio.wait(waits, timeout=2)
            await executor.cancel_all()  # what still rests; its wait() ends cancelled
            for order in await asyncio.gather(*waits):
                fees = ", ".join(f"{cost} {currency}" for currency, cost in order.fees.items())
                print(f"{order.signal_id:<15} {order.type.value:<6} {order.state.value:<9} "
                      f"filled {order.filled} at {order.average or '-'}, fees {fees or '-'}")
    print(f"journal: {JOURNAL}")


if __name__ == "__main__":
    asyncio.run(main())
