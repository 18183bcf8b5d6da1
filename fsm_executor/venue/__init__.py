"""The test venues, as unkind as the exchanges they imitate: the paper exchange, its
manners, faults, fees and state file, its async face and the virtual-time event loop it is
tested on, generated answers, and Binance's REST API over it.
"""
