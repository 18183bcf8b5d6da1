"""The command line: run, recover, audit, diagram, venue serve.
"""
