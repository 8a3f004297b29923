"""What many test modules share, kept out of conftest.py so it can be imported plainly.

conftest.py declares only fixtures; the helpers they and the tests use live here,
one module per idea, and no test module imports another:

- `apps`: the run's settings and a second app with settings of its own;
- `users`: registered, logged-in API users;
- `quizzes`: the sample quiz (one question of every type) and single questions;
- `live`: a game over REST and the group of Socket.IO clients around it (connect,
  wait for the welcome, expect a refusal, close them all), paced commands;
- `sockets`: the recording Socket.IO client, and Socket.IO spoken by hand;
- `notifier`: an in-memory Notifier, to drive the game services without sockets;
- `limits`: a rate-limited app and made-up client addresses;
- `processes`: real server processes (`python -m classquiz serve`);
- `results`: a plausible finished game; `database`: rows read straight from PostgreSQL.
"""
