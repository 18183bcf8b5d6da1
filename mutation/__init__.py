"""Mutation testing of the core (``make mutate``): mutmut over the modules, and a table
mutation check for the data mutmut does not mutate. See the README's "Mutation testing"."""
