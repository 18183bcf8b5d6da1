"""The drivers: they do the I/O around the decisions (the sync TradeExecutor,
recovery after a restart, the monotonic timers).
"""
