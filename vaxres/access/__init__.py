"""Who may call `vaxres serve`, and the answers it keeps: operators' tokens (tokens.py) and
Idempotency-Key (idempotency.py). Below the API, beside the capabilities: it knows only the store."""
