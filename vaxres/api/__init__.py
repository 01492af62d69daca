"""`vaxres serve`: the HTTP face, as thin as vaxres/cli/: parse the request, call the same use
case, render its `as_json()` or an RFC 9457 problem. Tokens, roles, Idempotency-Key and admission
at its edge (edge.py); no SQL and no rules here. Imported only by `vaxres serve` and the tests."""
