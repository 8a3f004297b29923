"""Every contract with a client, in one package: what goes over the wire and its rules.

- `common`: question types, game statuses, pages, the error body, the request base.
- `quizzes`, `users`, `games`, `results`, `search`: REST bodies, queries and responses.
- `client_events`, `server_events`, `acks`, `handshake`: Socket.IO, both directions
  (`wire` holds their strict building blocks).

OpenAPI (`classquiz.openapi`) and AsyncAPI (`classquiz.socket_server.schema`) are
generated from these models, so the documents cannot drift from the code.
"""
