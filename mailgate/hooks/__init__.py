"""Event hooks (SPEC §16): what changed, told to other tools by HTTP or a command.

`payload` builds the events' JSON (pure); `transport` makes one call;
`pump` claims due calls from the queue and makes them, off the mail path.
The calls are queued by the unit of work (mailgate/apply/announce.py) and
the outbox (a notification given up on), in the transaction of the change.
"""
