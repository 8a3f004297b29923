#!/usr/bin/env node
// Plays one whole ClassQuiz game with the reference web client (socket.io-client).
//
// Usage:
//   node game_client.mjs <base_url> <pin> <host_token> [players]
//   echo '{"url": "...", "pin": "...", "host_token": "...", "players": 5}' | node game_client.mjs
//
// One host connects over WebSocket only; the players use the browser defaults
// (HTTP long-polling first, then the upgrade to WebSocket) unless the input's
// `player_transports` says otherwise (e.g. ["polling"]: long-polling only). Every
// client sends the game's PIN in the Socket.IO query (`?pin=…`, SPEC §4) so that a
// balancer can route the whole game to one server process; `send_pin: false`
// leaves it out. `player_cookies` (optional, one string per player) sends that
// Cookie header with each player's requests: Node keeps no cookies by itself, so
// without it a player is a cookie-less client. The host starts the
// game; every player answers every question with `emitWithAck`; everybody waits
// for `question_ended`, the players for `your_result`; the host moves on with
// `next_question` until `{finished: true}`. Acks and event payloads are checked
// against SPEC §4 on the way. The last line on stdout is one JSON summary; the
// exit status is 0 only when no check failed.

import { io } from "socket.io-client";

const STEP_TIMEOUT_MS = 15_000;
const ACK_TIMEOUT_MS = 10_000;
const REVEAL_PAUSE_MS = 150;

const errors = [];
const clients = {};
const summary = {};
const startedAt = Date.now();

function fail(message) {
  errors.push(message);
}

function check(condition, message) {
  if (!condition) fail(message);
  return Boolean(condition);
}

const isInt = (v) => Number.isInteger(v);
const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isStr = (v) => typeof v === "string";

async function readInput() {
  const args = process.argv.slice(2);
  if (args.length >= 3) {
    return { url: args[0], pin: args[1], host_token: args[2], players: Number(args[3] ?? 5) };
  }
  if (process.stdin.isTTY) {
    throw new Error("usage: node game_client.mjs <base_url> <pin> <host_token> [players]");
  }
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

// ----------------------------------------------------------------- clients

class Client {
  constructor(name, url, auth, transports, extra = {}) {
    this.name = name;
    this.events = new Map(); // event -> [payloads] in arrival order
    this.order = [];
    this.waiters = [];
    this.transports = [];
    this.connectError = null;
    this.disconnects = [];
    const options = { auth, autoConnect: false, reconnection: false, timeout: 10_000 };
    if (transports) options.transports = transports;
    if (extra.pin) options.query = { pin: extra.pin };
    if (extra.cookie) options.extraHeaders = { Cookie: extra.cookie };
    this.socket = io(url, options);
    this.socket.onAny((event, ...args) => this.record(event, args[0]));
    this.socket.on("disconnect", (reason, details) =>
      this.disconnects.push(details?.description?.message ?? details?.message ?? reason),
    );
  }

  record(event, data) {
    if (!this.events.has(event)) this.events.set(event, []);
    this.events.get(event).push(data);
    this.order.push(event);
    for (const waiter of [...this.waiters]) waiter();
  }

  connect() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: connect timed out`)), 10_000);
      // The manager opens the engine (first transport) before the Socket.IO handshake;
      // an upgrade may complete before "connect", so the transports are watched from here.
      this.socket.io.once("open", () => {
        const engine = this.socket.io.engine;
        this.transports.push(engine.transport.name);
        engine.on("upgrade", (transport) => this.transports.push(transport.name));
      });
      this.socket.once("connect", () => {
        clearTimeout(timer);
        resolve(this);
      });
      this.socket.once("connect_error", (err) => {
        clearTimeout(timer);
        this.connectError = err?.data ?? err?.message ?? String(err);
        reject(new Error(`${this.name}: connect refused: ${JSON.stringify(this.connectError)}`));
      });
      this.socket.connect();
    });
  }

  /** The first `event` payload matching `pred`, waiting for it if needed. */
  wait(event, pred = () => true, timeoutMs = STEP_TIMEOUT_MS) {
    const find = () => (this.events.get(event) ?? []).find(pred);
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = () => {
        const hit = find();
        if (hit !== undefined) {
          done();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`${this.name}: no ${event} within ${timeoutMs} ms; last events ${JSON.stringify(this.order.slice(-8))}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      this.waiters.push(waiter);
    });
  }

  count(event) {
    return (this.events.get(event) ?? []).length;
  }

  async call(event, payload = {}) {
    try {
      return await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch (err) {
      throw new Error(`${this.name}: no ack for ${event}: ${err.message}`);
    }
  }

  summary() {
    const counts = {};
    for (const [event, list] of this.events) counts[event] = list.length;
    return {
      events: counts,
      transports: this.transports,
      connected: this.socket.connected,
      disconnects: [...this.disconnects],
    };
  }
}

// ----------------------------------------------------------------- shape checks

function checkState(who, game) {
  if (!check(isObj(game), `${who}: welcome without a game state`)) return;
  for (const key of ["game_id", "pin", "title", "status"]) {
    check(isStr(game[key]), `${who}: welcome game.${key} is not a string`);
  }
  for (const key of ["question_index", "question_count", "players_count", "server_time_ms"]) {
    check(isInt(game[key]), `${who}: welcome game.${key} is not an integer`);
  }
}

function checkPublicQuestion(who, q) {
  if (!check(isObj(q), `${who}: question_started without a question`)) return;
  check(isStr(q.type) && isStr(q.text), `${who}: question without type/text`);
  check("image" in q, `${who}: question without image`);
  check(Array.isArray(q.choices), `${who}: question.choices is not a list`);
  for (const c of q.choices ?? []) {
    check(isInt(c.id) && isStr(c.text), `${who}: bad choice ${JSON.stringify(c)}`);
    check(!("correct" in c), `${who}: a choice reveals correctness before the end`);
  }
  check(!("accepted_answers" in q), `${who}: question reveals accepted answers`);
  if (q.type === "slider") {
    check(isObj(q.slider) && !("correct" in q.slider), `${who}: bad slider ${JSON.stringify(q.slider)}`);
  }
  check(isInt(q.time_limit_ms) && q.time_limit_ms >= 5000, `${who}: bad time_limit_ms`);
  check(isInt(q.points), `${who}: bad points`);
}

function checkQuestionStarted(who, ev, qi, count) {
  check(ev.question_index === qi, `${who}: question_started index ${ev.question_index} != ${qi}`);
  check(ev.question_count === count, `${who}: question_count ${ev.question_count} != ${count}`);
  check(isInt(ev.opens_at_ms) && isInt(ev.deadline_at_ms), `${who}: bad opens/deadline`);
  check(ev.deadline_at_ms > ev.opens_at_ms, `${who}: deadline before opening`);
  check(isInt(ev.server_time_ms), `${who}: bad server_time_ms`);
  checkPublicQuestion(who, ev.question);
}

function checkRankRows(who, rows, max, label) {
  if (!check(Array.isArray(rows), `${who}: ${label} is not a list`)) return;
  check(rows.length <= max, `${who}: ${label} has ${rows.length} > ${max} rows`);
  for (const r of rows) {
    check(
      isInt(r.rank) && isStr(r.player_id) && isStr(r.nickname) && isInt(r.score),
      `${who}: bad ${label} row ${JSON.stringify(r)}`,
    );
  }
}

function checkQuestionEnded(who, ev, qi, players) {
  check(ev.question_index === qi, `${who}: question_ended index ${ev.question_index} != ${qi}`);
  check("correct" in ev, `${who}: question_ended without correct`);
  check(isObj(ev.distribution), `${who}: question_ended distribution is not an object`);
  check(ev.answered === players, `${who}: question_ended answered ${ev.answered} != ${players}`);
  check(ev.players_count === players, `${who}: question_ended players_count ${ev.players_count}`);
  checkRankRows(who, ev.top, 5, "top");
}

function checkYourResult(who, ev, qi, type) {
  check(ev.question_index === qi, `${who}: your_result index ${ev.question_index} != ${qi}`);
  check(ev.answered === true, `${who}: your_result answered is ${ev.answered}`);
  if (type === "poll") check(ev.correct === null, `${who}: poll result correct is not null`);
  else check(typeof ev.correct === "boolean", `${who}: your_result correct is not a bool`);
  for (const key of ["points", "streak", "score", "rank"]) {
    check(isInt(ev[key]), `${who}: your_result.${key} is not an integer`);
  }
  check(ev.rank >= 1, `${who}: rank ${ev.rank} < 1`);
  if (ev.correct !== true) check(ev.points === 0, `${who}: points for a wrong answer`);
}

// ----------------------------------------------------------------- answers

/** A valid answer for the public question; players vary so that scores differ. */
function answerFor(question, player) {
  const ids = question.choices.map((c) => c.id);
  const even = player % 2 === 0;
  switch (question.type) {
    case "single":
    case "true_false":
    case "poll":
      return ids[player % ids.length];
    case "multiple":
      return even ? ids.slice(0, 2).sort((a, b) => a - b) : [ids[player % ids.length]];
    case "order":
      // Choice ids are the authored positions and the authored order is the right one.
      return even ? [...ids].sort((a, b) => a - b) : ids;
    case "text":
      return even ? "Paris" : "Lyon";
    case "slider": {
      const { min, max } = question.slider;
      return even ? (min + max) / 2 : min;
    }
    default:
      throw new Error(`unknown question type ${question.type}`);
  }
}

// ----------------------------------------------------------------- the game

async function play(input) {
  const url = input.url.replace(/\/+$/, "");
  const nPlayers = Number(input.players ?? 5);
  const routePin = input.send_pin === false ? null : input.pin;
  const playerTransports = input.player_transports ?? null;
  const pollingOnly = playerTransports?.length === 1 && playerTransports[0] === "polling";
  const cookies = input.player_cookies ?? [];
  Object.assign(summary, { pin: input.pin, players: nPlayers });

  const host = new Client("host", url, { host_token: input.host_token }, ["websocket"], {
    pin: routePin,
  });
  clients.host = host;
  await host.connect();
  const hostWelcome = await host.wait("welcome");
  check(hostWelcome.role === "host", `host: welcome role ${hostWelcome.role}`);
  checkState("host", hostWelcome.game);
  check(Array.isArray(hostWelcome.game?.players), "host: welcome state without players list");
  const gameId = hostWelcome.game?.game_id;
  summary.game_id = gameId;

  const players = [];
  for (let i = 0; i < nPlayers; i++) {
    // Without `player_transports`: the browser default, polling first, then upgrade.
    const p = new Client(`P${i}`, url, { pin: input.pin, nickname: `Node${i}` }, playerTransports, {
      pin: routePin,
      cookie: cookies[i],
    });
    clients[p.name] = p;
    players.push(p);
  }
  await Promise.all(players.map((p) => p.connect()));
  for (const p of players) {
    const first = playerTransports?.[0] ?? "polling";
    check(p.transports[0] === first, `${p.name}: first transport ${p.transports[0]}`);
    const w = await p.wait("welcome");
    check(w.role === "player", `${p.name}: welcome role ${w.role}`);
    check(!("players" in (w.game ?? {})), `${p.name}: a player's state lists the players`);
    checkState(p.name, w.game);
    const me = w.player ?? {};
    check(isStr(me.player_id) && isStr(me.player_token), `${p.name}: welcome without identity`);
    check(me.nickname === p.name.replace("P", "Node"), `${p.name}: nickname ${me.nickname}`);
    check(me.score === 0 && me.streak === 0, `${p.name}: new player with score/streak`);
    p.playerId = me.player_id;
  }
  await host.wait("player_joined", () => host.count("player_joined") >= nPlayers);
  for (const joined of host.events.get("player_joined")) {
    check(
      isObj(joined.player) && isStr(joined.player.player_id) && isStr(joined.player.nickname),
      `host: bad player_joined ${JSON.stringify(joined)}`,
    );
    check(isInt(joined.players_count), "host: player_joined without players_count");
  }
  // The highest count, not the last event's: when players join through other server
  // processes than the host's, their player_joined events reach the host over Redis
  // pub/sub from several publishers, which keep no order among each other, so a
  // join's event may arrive after the next one's (seen under CPU load in the
  // cookie-spread proxy test).
  check(
    Math.max(...host.events.get("player_joined").map((joined) => joined.players_count)) ===
      nPlayers,
    "host: no player_joined says all players joined",
  );
  // Every player should have moved from long-polling to WebSocket by now or soon
  // (unless it was told to stay on long-polling).
  await Promise.all(
    players.map(
      (p) =>
        new Promise((resolve) => {
          const until = Date.now() + 5000;
          const poll = () => {
            if (pollingOnly || p.socket.io.engine.transport.name === "websocket") resolve();
            else if (Date.now() > until) resolve();
            else setTimeout(poll, 20);
          };
          poll();
        }),
    ),
  );
  for (const p of players) {
    const expected = pollingOnly ? "polling" : "websocket";
    check(
      p.socket.io.engine.transport.name === expected,
      `${p.name}: on ${p.socket.io.engine.transport.name}, expected ${expected}`,
    );
  }

  const startAck = await host.call("start_game");
  check(
    startAck?.ok === true && startAck.question_index === 0,
    `host: start_game ack ${JSON.stringify(startAck)}`,
  );

  const scores = Object.fromEntries(players.map((p) => [p.name, 0]));
  const questionCount = hostWelcome.game.question_count;
  let qi = 0;
  for (;;) {
    const started = await Promise.all(
      [host, ...players].map((c) => c.wait("question_started", (e) => e.question_index === qi)),
    );
    started.forEach((ev, k) => checkQuestionStarted([host, ...players][k].name, ev, qi, questionCount));
    const question = started[0].question;

    if (qi === 0) {
      // A host command in the wrong state is refused with an error ack.
      const early = await host.call("next_question");
      check(
        early?.ok === false && early.error?.code === "wrong_state",
        `host: next_question while open gave ${JSON.stringify(early)}`,
      );
    }

    // The first player answers first (and on question 0 tries again: first answer wins).
    const first = players[0];
    const firstAck = await first.call("submit_answer", {
      question_index: qi,
      answer: answerFor(question, 0),
    });
    check(
      firstAck?.ok === true && isInt(firstAck.received_at_ms),
      `${first.name}: submit_answer ack ${JSON.stringify(firstAck)}`,
    );
    check(!("correct" in (firstAck ?? {})), `${first.name}: ack reveals correctness`);
    if (qi === 0) {
      // (Once only: the server allows a socket 10 events a second.)
      const again = await first.call("submit_answer", {
        question_index: qi,
        answer: answerFor(question, 1),
      });
      check(
        again?.ok === false && again.error?.code === "already_answered",
        `${first.name}: second answer gave ${JSON.stringify(again)}`,
      );
    }
    const acks = await Promise.all(
      players.slice(1).map((p, k) =>
        p.call("submit_answer", { question_index: qi, answer: answerFor(question, k + 1) }),
      ),
    );
    acks.forEach((ack, k) =>
      check(
        ack?.ok === true && isInt(ack.received_at_ms),
        `${players[k + 1].name}: submit_answer ack ${JSON.stringify(ack)}`,
      ),
    );

    // Everyone answered: the question ends by itself (auto_end_question).
    const ended = await Promise.all(
      [host, ...players].map((c) => c.wait("question_ended", (e) => e.question_index === qi)),
    );
    ended.forEach((ev, k) => checkQuestionEnded([host, ...players][k].name, ev, qi, nPlayers));
    // answer_count is coalesced (at most 10 a second): it may come after question_ended.
    try {
      await host.wait("answer_count", (e) => e.question_index === qi, 3000);
    } catch {
      fail(`host: no answer_count for question ${qi}`);
    }
    const counts = host.events.get("answer_count") ?? [];
    for (const e of counts) {
      check(
        isInt(e.question_index) && isInt(e.answered) && isInt(e.players_count),
        `host: bad answer_count ${JSON.stringify(e)}`,
      );
    }
    const results = await Promise.all(
      players.map((p) => p.wait("your_result", (e) => e.question_index === qi)),
    );
    results.forEach((ev, k) => {
      const name = players[k].name;
      checkYourResult(name, ev, qi, question.type);
      check(
        ev.score === scores[name] + ev.points,
        `${name}: score ${ev.score} after ${scores[name]} + ${ev.points}`,
      );
      scores[name] = ev.score;
    });

    await new Promise((r) => setTimeout(r, REVEAL_PAUSE_MS)); // the reveal screen
    const next = await host.call("next_question");
    if (next?.ok === true && next.finished === true) {
      check(qi === questionCount - 1, `host: finished after question ${qi} of ${questionCount}`);
      break;
    }
    if (!check(
      next?.ok === true && next.question_index === qi + 1,
      `host: next_question ack ${JSON.stringify(next)}`,
    )) {
      break;
    }
    qi += 1;
  }

  const finished = await Promise.all(
    [host, ...players].map((c) => c.wait("game_finished")),
  );
  finished.forEach((ev, k) => {
    const name = [host, ...players][k].name;
    check(ev.game_id === gameId, `${name}: game_finished game_id ${ev.game_id}`);
    check(ev.players_count === nPlayers, `${name}: game_finished players_count ${ev.players_count}`);
    checkRankRows(name, ev.podium, 3, "podium");
  });
  const finals = await Promise.all(players.map((p) => p.wait("final_result")));
  summary.final = {};
  finals.forEach((ev, k) => {
    const p = players[k];
    for (const key of ["rank", "score", "correct_count", "question_count"]) {
      check(isInt(ev[key]), `${p.name}: final_result.${key} is not an integer`);
    }
    check(ev.question_count === questionCount, `${p.name}: final question_count`);
    check(ev.score === scores[p.name], `${p.name}: final score ${ev.score} != ${scores[p.name]}`);
    summary.final[p.name] = { player_id: p.playerId, nickname: `Node${k}`, ...ev };
  });
  summary.question_count = questionCount;
}

// ----------------------------------------------------------------- main

let input;
try {
  input = await readInput();
  await play(input);
} catch (err) {
  fail(`aborted: ${err?.message ?? err}`);
}
await new Promise((r) => setTimeout(r, 100)); // late duplicates, if any, get counted
const report = {
  ok: errors.length === 0,
  errors,
  duration_ms: Date.now() - startedAt,
  ...summary,
  clients: Object.fromEntries(Object.entries(clients).map(([n, c]) => [n, c.summary()])),
};
for (const c of Object.values(clients)) c.socket.disconnect();
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(errors.length === 0 ? 0 : 1);
