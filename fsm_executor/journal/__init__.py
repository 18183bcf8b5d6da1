"""The write-ahead journal, the order book that journals before it changes an order,
replay and audit, and the lock that keeps one writer per journal.
"""
