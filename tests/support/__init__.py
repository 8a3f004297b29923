"""What many test modules share, kept out of conftest.py so it can be imported plainly.

conftest.py only declares fixtures; the helpers they and the tests use live here, one
module per idea: `apps` (settings and extra app instances), `users` (registered API
users), `quizzes` (a valid sample quiz), `sockets` (a recording Socket.IO client),
`live` (a host and players around one live game), `notifier` (an in-memory Notifier
for testing the game services without sockets).
"""
