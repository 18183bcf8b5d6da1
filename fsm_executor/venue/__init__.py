"""The test venues, as unkind as the exchanges they imitate: the paper exchange, its
manners, faults, fees and state file, generated answers, and Binance's REST API over it.
"""
