"""Use cases. Each write is one transaction; refusals raise the named errors of vaxres.errors."""
