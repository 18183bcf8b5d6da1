"""The edge to ccxt: the adapter every exchange call goes through, the mapping of
ccxt's exceptions and the translation of its shapes into the core's vocabulary.
"""
