"""Deciding: pure functions from a parsed message or a due timer, a snapshot of
the request and the settings to a `Decision` made of effects. No database,
network or clock here: `mailgate.apply` reads the snapshot and has the store
write the decision.
"""
