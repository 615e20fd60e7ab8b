"""Request and response bodies of the HTTP API, one module per route family: feeds, triage,
events, items, agents' notes (corrections and resolutions), model info; the field types they
share are in `fields`, the `Idempotency-Key` header's reading in `idempotency`. Validation here
turns bad input into a 400 with a message naming the field, before any model runs.

Request bodies are flat JSON objects (`{"user_id": "196", "k": 10}`); unknown fields are refused.
"""
