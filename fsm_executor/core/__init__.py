"""The decision core: the state table and machine, the order and its events, the
lifecycle, the decisions, the ledger and the vocabulary of exchange answers. No I/O and
no ccxt (tests/test_layers.py holds it to that).
"""
