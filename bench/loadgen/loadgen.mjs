#!/usr/bin/env node
// ClassQuiz load generator: one host and N players with socket.io-client.
//
//   node loadgen.mjs --url http://127.0.0.1:8000 --players 500 --questions 3
//
// The coordinator (this process) creates a user, a quiz and a game over REST,
// connects the host and drives the game; the players live in player pools,
// either in this process (--procs 0) or in K forked processes (--procs K) that
// report to the coordinator over IPC. Every timestamp is
// process.hrtime.bigint() (CLOCK_MONOTONIC on Linux: one clock shared by all
// processes of the machine), so "player received − host sent" is meaningful
// across the forked pools. See ../README.md for the metrics.

import { fork } from "node:child_process";
import http from "node:http";
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import { WireSocket } from "./wire.mjs";

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic, machine-wide
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ options

const DEFAULTS = {
  url: "http://127.0.0.1:8000",
  urls: null,
  players: 100,
  questions: 5,
  ramp: 200, // players per second; 0 = all at once
  "answer-window-ms": "0-500", // from each player's question_started
  // who ends a question: "acks" = the host emits end_question once every player has its
  // answer's ack (at most --end-after-ms after its command); "fixed" = the host emits it
  // --end-after-ms after its command; "auto" = the server (auto_end_question)
  "end-mode": "acks",
  "end-after-ms": null, // default: the answer window's end + --ack-timeout-ms
  // silent questions after the workload (nobody answers): the cost model's broadcast phases
  calibrate: 3,
  // answered calibration questions (after the workload, before the silent ones): every
  // player answers within the answer window of a signal given once the broadcast is over,
  // so the window from the signal to the last ack holds answers and nothing else
  "calibrate-answers": 2,
  "idle-ms": 3000, // an idle window before the finish: the server's background CPU rate
  "time-limit-s": 30,
  transport: "websocket", // websocket | polling | default (polling, then upgrade)
  // the players' client: "socketio" (socket.io-client) or "wire" (wire.mjs: the same frames
  // over one WebSocket at a fraction of the generator's CPU; --transport websocket only)
  client: "socketio",
  procs: 0, // 0: players in this process; K: K forked pools
  out: null,
  db: process.env.DATABASE_URL || null,
  "pause-ms": 1000, // between a reveal and the next question
  "join-timeout-ms": 60000,
  "ack-timeout-ms": 15000,
  "reveal-timeout-ms": 20000,
  "duplicate-fraction": 0, // players that send every answer twice at once
  "results-timeout-ms": 30000,
  seed: null,
};

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
    const [key, inline] = arg.slice(2).split("=", 2);
    if (key === "child" || key === "help") {
      opts[key] = true;
      continue;
    }
    if (!(key in DEFAULTS)) throw new Error(`unknown option --${key}`);
    const value = inline !== undefined ? inline : argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    opts[key] = value;
  }
  for (const k of ["players", "questions", "ramp", "time-limit-s", "procs", "pause-ms",
    "join-timeout-ms", "ack-timeout-ms", "reveal-timeout-ms", "duplicate-fraction",
    "results-timeout-ms", "calibrate", "calibrate-answers", "idle-ms"]) {
    opts[k] = Number(opts[k]);
    if (!Number.isFinite(opts[k]) || opts[k] < 0) throw new Error(`--${k} must be a number >= 0`);
  }
  const w = String(opts["answer-window-ms"]).split("-").map(Number);
  opts.answerMin = w.length === 2 ? w[0] : 0;
  opts.answerMax = w.length === 2 ? w[1] : w[0];
  if (!(opts.answerMin >= 0 && opts.answerMax >= opts.answerMin)) {
    throw new Error("--answer-window-ms is MAX or MIN-MAX in ms");
  }
  if (!["acks", "fixed", "auto"].includes(opts["end-mode"])) throw new Error("--end-mode is acks, fixed or auto");
  opts.endMode = opts["end-mode"];
  opts.endAfterMs = opts["end-after-ms"] === null ? opts.answerMax + opts["ack-timeout-ms"] : Number(opts["end-after-ms"]);
  if (!Number.isFinite(opts.endAfterMs) || opts.endAfterMs < 0) throw new Error("--end-after-ms must be a number >= 0");
  if (opts.db === "none" || opts.db === "") opts.db = null; // --db none: no exactly-once check (the floor)
  opts.urlList = (opts.urls ? String(opts.urls) : String(opts.url)).split(",").map((u) => u.trim().replace(/\/$/, "")).filter(Boolean);
  if (!["socketio", "wire"].includes(opts.client)) throw new Error("--client is socketio or wire");
  if (opts.client === "wire" && opts.transport !== "websocket") {
    throw new Error("--client wire speaks WebSocket only (--transport websocket)");
  }
  if (!["websocket", "polling", "default"].includes(opts.transport)) {
    throw new Error("--transport is websocket, polling or default");
  }
  return opts;
}

const USAGE = `usage: node loadgen.mjs [--url URL | --urls URL1,URL2] [--players N] [--questions Q]
  [--ramp PLAYERS_PER_S (0 = all at once)] [--answer-window-ms [MIN-]MAX] [--time-limit-s S]
  [--end-mode acks|fixed|auto] [--end-after-ms MS] [--calibrate SILENT_QUESTIONS]
  [--calibrate-answers ANSWERED_CALIBRATION_QUESTIONS] [--idle-ms MS]
  [--transport websocket|polling|default] [--client socketio|wire] [--procs K (0 = players in this process)]
  [--out FILE.json] [--db postgresql://... | none (default $DATABASE_URL)] [--pause-ms MS]
  [--duplicate-fraction F] [--join-timeout-ms MS] [--ack-timeout-ms MS] [--reveal-timeout-ms MS]`;

function transportOpts(transport) {
  if (transport === "websocket") return { transports: ["websocket"] };
  if (transport === "polling") return { transports: ["polling"], upgrade: false };
  return { transports: ["polling", "websocket"] };
}

// A seeded PRNG when --seed is given (answers and delays), Math.random otherwise.
function makeRandom(seed) {
  if (seed === null || seed === undefined) return Math.random;
  let s = Number(seed) >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

// ------------------------------------------------------------------ resources

function processStats(loopDelay) {
  const cpu = process.cpuUsage();
  return {
    pid: process.pid,
    cpu_s: (cpu.user + cpu.system) / 1e6,
    rss_mb: process.memoryUsage().rss / 1048576,
    loop_delay_ms: loopDelay ? {
      p50: loopDelay.percentile(50) / 1e6,
      p99: loopDelay.percentile(99) / 1e6,
      max: loopDelay.max / 1e6,
    } : null,
  };
}

// ------------------------------------------------------------------ player pool

// Holds a share of the players; talks to the coordinator through `send`.
class PlayerPool {
  constructor(send) {
    this.send = send;
    this.players = [];
    this.failedCount = 0; // players whose join failed (see alive())
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    this.marks = {};
  }

  handle(msg) {
    if (msg.t === "init") this.init(msg.cfg);
    else if (msg.t === "join") this.join().catch((e) => this.send({ t: "fatal", error: String(e?.stack || e) }));
    else if (msg.t === "mark") {
      // each mark's event-loop delay covers the phase since the previous mark
      this.marks[msg.name] = processStats(this.loopDelay);
      this.loopDelay.reset();
    }
    else if (msg.t === "answer") this.answerAll(msg.q);
    else if (msg.t === "finish") this.finish();
  }

  // An answered calibration question: every player answers within the answer window
  // from now (the coordinator's signal, sent once the broadcast is over).
  answerAll(qi) {
    const t = now();
    for (const p of this.players) {
      const slot = p.q[qi];
      if (p.failed !== null || !slot || slot.started === null || slot.sentAt !== null) continue;
      this.scheduleAnswer(p, qi, t);
    }
  }

  // One player's answer to question qi: a random choice, sent a random delay within the
  // answer window after `from`; `due` is when it should leave (the generator's lateness).
  scheduleAnswer(p, qi, from) {
    const { cfg } = this;
    const slot = p.q[qi];
    const delay = cfg.answerMin + this.random() * (cfg.answerMax - cfg.answerMin);
    slot.answer = Math.floor(this.random() * slot.choices);
    slot.due = from + delay;
    setTimeout(() => this.answer(p, qi), delay);
  }

  init(cfg) {
    this.cfg = cfg;
    this.random = makeRandom(cfg.seed === null ? null : Number(cfg.seed) + cfg.poolIndex * 7919);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const total = cfg.questions + cfg.calibrateAnswers + cfg.calibrate;
    this.qTotals = new Array(total).fill(0); // your_result received per question
    this.qStarted = new Array(total).fill(0); // question_started received per question
    this.qAcked = new Array(total).fill(0); // players whose every answer of the question is acked
    this.finalCount = 0;
    this.send({ t: "ready" });
  }

  async join() {
    const { cfg } = this;
    const start = now();
    const interval = cfg.rampPerPool > 0 ? 1000 / cfg.rampPerPool : 0;
    for (let i = 0; i < cfg.count; i++) {
      if (interval > 0) {
        const due = start + i * interval;
        const wait = due - now();
        if (wait > 1) await sleep(wait);
      }
      this.spawn(cfg.first + i, cfg.urls[(cfg.first + i) % cfg.urls.length]);
    }
    const deadline = now() + cfg.joinTimeoutMs;
    while (now() < deadline) {
      if (this.players.every((p) => p.welcomeAt !== null || p.failed !== null)) break;
      await sleep(20);
    }
    for (const p of this.players) {
      if (p.welcomeAt === null && p.failed === null) {
        this.fail(p, "join_timeout");
        p.socket.disconnect();
      }
    }
    this.send({
      t: "joined",
      ok: this.players.filter((p) => p.failed === null).length,
      failed: this.players.filter((p) => p.failed !== null).length,
      codes: this.players.reduce((acc, p) => {
        if (p.failed !== null) acc[p.failed] = (acc[p.failed] || 0) + 1;
        return acc;
      }, {}),
    });
  }

  spawn(index, url) {
    const { cfg } = this;
    const nickname = `p${String(index).padStart(5, "0")}`;
    const p = {
      index,
      url,
      nickname,
      playerId: null,
      token: null,
      startAt: now(),
      connectAt: null,
      welcomeAt: null,
      failed: null,
      connectErrors: [],
      disconnects: 0,
      reconnects: 0,
      duplicate: this.random() < cfg.duplicateFraction,
      q: [], // per question: {started, ended, result, sentAt, acks: [{at, ok, code}], answer}
      finalAt: null,
      finishedAt: null,
    };
    for (let q = 0; q < cfg.questions + cfg.calibrateAnswers + cfg.calibrate; q++) {
      p.q.push({ started: null, ended: null, result: null, resultData: null, sentAt: null, due: null, choices: 4, acks: [], answer: null });
    }
    const common = {
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      timeout: cfg.joinTimeoutMs,
      auth: { pin: cfg.pin, nickname },
      // The PIN in the query too: a balancer routes the whole game to one process by it.
      query: { pin: cfg.pin },
    };
    const socket = cfg.client === "wire"
      ? new WireSocket(url, common)
      : io(url, { ...transportOpts(cfg.transport), forceNew: true, agent: this.agent, ...common });
    p.socket = socket;
    socket.on("connect", () => {
      if (p.connectAt === null) p.connectAt = now();
      else p.reconnects += 1;
    });
    socket.on("connect_error", (err) => {
      const code = err?.data?.code || err?.message || "connect_error";
      p.connectErrors.push(code);
      if (err?.data?.code && p.welcomeAt === null) {
        this.fail(p, code); // refused by the server: socket.io does not retry these
      }
    });
    socket.on("disconnect", (reason) => {
      if (reason !== "io client disconnect") p.disconnects += 1;
    });
    socket.on("welcome", (data) => {
      if (p.welcomeAt === null) p.welcomeAt = now();
      if (data?.player) {
        p.playerId = data.player.player_id;
        p.token = data.player.player_token;
        socket.auth = { player_token: p.token }; // reconnect as the same player
      }
    });
    socket.on("question_started", (data) => {
      const t = now();
      const qi = data.question_index;
      const slot = p.q[qi];
      if (!slot || slot.started !== null) return;
      slot.started = t;
      slot.choices = data.question?.choices?.length || 4;
      this.qStarted[qi] += 1;
      if (this.qStarted[qi] >= this.alive()) this.send({ t: "qstarted", q: qi });
      // a calibration question: nobody answers on their own (see answerAll)
      if (qi >= cfg.questions) return;
      this.scheduleAnswer(p, qi, t);
    });
    socket.on("question_ended", (data) => {
      const slot = p.q[data.question_index];
      if (slot && slot.ended === null) slot.ended = now();
    });
    socket.on("your_result", (data) => {
      const qi = data.question_index;
      const slot = p.q[qi];
      if (!slot || slot.result !== null) return;
      slot.result = now();
      slot.resultData = { answered: data.answered, correct: data.correct, points: data.points };
      this.qTotals[qi] += 1;
      if (this.qTotals[qi] === this.alive()) this.send({ t: "qdone", q: qi });
    });
    socket.on("game_finished", () => {
      if (p.finishedAt === null) p.finishedAt = now();
    });
    socket.on("final_result", () => {
      if (p.finalAt !== null) return;
      p.finalAt = now();
      this.finalCount += 1;
      if (this.finalCount === this.alive()) this.send({ t: "final_done" });
    });
    this.players.push(p);
  }

  fail(p, code) {
    if (p.failed === null) this.failedCount += 1;
    p.failed = code;
  }

  // Counted, not scanned: it is asked on every ack and every frame of a burst, and a
  // scan of 2,000 players each time made the generator itself late (O(N²) a question).
  alive() {
    return this.players.length - this.failedCount;
  }

  answer(p, qi) {
    const slot = p.q[qi];
    const sends = p.duplicate ? 2 : 1;
    slot.sentAt = now();
    for (let i = 0; i < sends; i++) {
      p.socket.timeout(this.cfg.ackTimeoutMs).emit(
        "submit_answer",
        { question_index: qi, answer: slot.answer },
        (err, ack) => {
          const at = now();
          if (err) slot.acks.push({ at, ok: false, code: "ack_timeout" });
          else slot.acks.push({ at, ok: !!ack?.ok, code: ack?.ok ? null : ack?.error?.code || "?" });
          if (slot.acks.length === sends) {
            this.qAcked[qi] += 1;
            if (this.qAcked[qi] >= this.alive()) this.send({ t: "qacked", q: qi });
          }
        },
      );
    }
  }

  finish() {
    const stats = processStats(this.loopDelay);
    const players = this.players.map((p) => ({
      index: p.index,
      nickname: p.nickname,
      url: p.url,
      player_id: p.playerId,
      start: p.startAt,
      connect: p.connectAt,
      welcome: p.welcomeAt,
      failed: p.failed,
      connect_errors: p.connectErrors,
      disconnects: p.disconnects,
      reconnects: p.reconnects,
      duplicate: p.duplicate,
      final: p.finalAt,
      finished: p.finishedAt,
      q: p.q.map((s) => ({
        started: s.started, ended: s.ended, result: s.result, sent: s.sentAt, due: s.due,
        acks: s.acks, answer: s.answer, result_data: s.resultData,
      })),
    }));
    for (const p of this.players) p.socket.disconnect();
    this.send({ t: "report", players, stats, marks: this.marks });
  }
}

async function childMain() {
  const pool = new PlayerPool((msg) => process.send(msg));
  process.on("message", (msg) => {
    pool.handle(msg);
    if (msg.t === "finish") setTimeout(() => process.exit(0), 300);
  });
  process.on("disconnect", () => process.exit(0));
}

// ------------------------------------------------------------------ REST

async function rest(base, method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return data;
}

async function setupGame(opts) {
  const base = opts.urlList[0];
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const username = `bench_${tag}`.slice(0, 32);
  const password = `bench-${tag}-password`;
  await rest(base, "POST", "/users/register", { email: `${username}@example.com`, username, password });
  const login = await rest(base, "POST", "/users/login", { login: username, password });
  const token = login.access_token;
  const questions = [];
  for (let i = 0; i < opts.questions + opts["calibrate-answers"] + opts.calibrate; i++) {
    questions.push({
      type: "single",
      text: `Benchmark question ${i + 1}: which choice is right?`,
      time_limit_s: opts["time-limit-s"],
      points: 1,
      choices: [
        { text: "A", correct: true },
        { text: "B", correct: false },
        { text: "C", correct: false },
        { text: "D", correct: false },
      ],
    });
  }
  const quiz = await rest(base, "POST", "/quizzes", { title: `Load test ${tag}`, questions }, token);
  const game = await rest(base, "POST", "/games", {
    quiz_id: quiz.id,
    settings: {
      max_players: Math.max(opts.players, 1),
      auto_end_question: opts.endMode === "auto",
      nicknames: { filter_profanity: false },
    },
  }, token);
  return { token, quizId: quiz.id, game };
}

// ------------------------------------------------------------------ statistics

function summary(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { n: 0, p50: null, p95: null, p99: null, max: null, mean: null };
  const pct = (p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
  const r = (x) => Math.round(x * 10) / 10;
  return {
    n: v.length,
    p50: r(pct(50)),
    p95: r(pct(95)),
    p99: r(pct(99)),
    max: r(v[v.length - 1]),
    mean: r(v.reduce((a, b) => a + b, 0) / v.length),
  };
}

function fmt(x) {
  return x === null || x === undefined ? "-" : (Math.round(x * 10) / 10).toFixed(1);
}

function printTable(title, rows) {
  const head = ["metric", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"];
  const body = rows.map(([name, s]) => [name, String(s.n), fmt(s.p50), fmt(s.p95), fmt(s.p99), fmt(s.max)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(title);
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of body) console.log(line(r));
}

// ------------------------------------------------------------------ exactly-once check

async function checkDatabase(opts, gameId, acked) {
  if (!opts.db) return { checked: false, reason: "no --db / DATABASE_URL" };
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: opts.db });
  await client.connect();
  try {
    const t0 = now();
    let found = false;
    while (now() - t0 < opts["results-timeout-ms"]) {
      const r = await client.query("select 1 from games where id = $1", [gameId]);
      if (r.rowCount) { found = true; break; }
      await sleep(200);
    }
    if (!found) return { checked: true, game_row: false, waited_ms: now() - t0 };
    const rows = await client.query(
      "select trim(player_id) as player_id, question_index, count(*)::int as n from game_answers where game_id = $1 group by 1, 2",
      [gameId],
    );
    const players = await client.query("select count(*)::int as n from game_players where game_id = $1", [gameId]);
    const stored = new Map();
    let rowsTotal = 0;
    for (const row of rows.rows) {
      stored.set(`${row.player_id}:${row.question_index}`, row.n);
      rowsTotal += row.n;
    }
    let lost = 0;
    const lostSample = [];
    for (const key of acked) {
      if (!stored.has(key)) {
        lost += 1;
        if (lostSample.length < 10) lostSample.push(key);
      }
    }
    let doubled = 0;
    let extra = 0;
    const extraSample = [];
    for (const [key, n] of stored) {
      if (n > 1) doubled += n - 1;
      if (!acked.has(key)) {
        extra += 1;
        if (extraSample.length < 10) extraSample.push(key);
      }
    }
    return {
      checked: true,
      game_row: true,
      waited_ms: Math.round(now() - t0),
      acked_ok: acked.size,
      rows: rowsTotal,
      players_rows: players.rows[0].n,
      lost,
      doubled,
      extra_unacked: extra,
      lost_sample: lostSample,
      extra_sample: extraSample,
    };
  } finally {
    await client.end();
  }
}

// ------------------------------------------------------------------ coordinator

function phase(name) {
  // Read by bench/run_bench.py to sample the server at phase boundaries.
  console.log(`@@phase ${name} ${now().toFixed(3)}`);
}

function waitFor(predicate, timeoutMs, step = 5) {
  return new Promise((resolve) => {
    const t0 = now();
    const tick = () => {
      if (predicate()) return resolve(true);
      if (now() - t0 > timeoutMs) return resolve(false);
      setTimeout(tick, step);
    };
    tick();
  });
}

async function coordinatorMain(opts) {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const wallStart = now();
  const marks = {};
  const mark = (name) => {
    // each mark's event-loop delay covers the phase since the previous mark
    marks[name] = { at: now(), ...processStats(loopDelay) };
    loopDelay.reset();
    if (opts.procs > 0) for (const pool of pools) pool.post({ t: "mark", name });
    phase(name);
  };

  phase("setup");
  const setup = await setupGame(opts);
  const { game } = setup;
  const pin = game.pin;

  // Host.
  const host = {
    welcomeAt: null,
    joined: 0,
    playersCount: 0,
    ended: new Map(), // qi -> time the host got question_ended
    endedData: new Map(),
    answerCounts: 0,
    finishedAt: null,
  };
  const hostSocket = io(opts.urlList[0], {
    ...transportOpts(opts.transport === "polling" ? "polling" : "websocket"),
    forceNew: true,
    auth: { host_token: game.host_token },
    query: { pin: game.pin },
  });
  hostSocket.on("welcome", () => { host.welcomeAt = now(); });
  hostSocket.on("player_joined", (d) => { host.joined += 1; host.playersCount = d.players_count; });
  hostSocket.on("answer_count", () => { host.answerCounts += 1; });
  hostSocket.on("question_ended", (d) => {
    if (!host.ended.has(d.question_index)) {
      host.ended.set(d.question_index, now());
      host.endedData.set(d.question_index, { answered: d.answered, players_count: d.players_count });
    }
  });
  hostSocket.on("game_finished", () => { host.finishedAt = now(); });
  hostSocket.on("connect_error", (err) => console.error("host connect_error", err?.data || err?.message));
  if (!(await waitFor(() => host.welcomeAt !== null, 15000))) throw new Error("host got no welcome");
  const emitHost = (event) => new Promise((resolve) => {
    const sent = now();
    hostSocket.timeout(60000).emit(event, {}, (err, ack) => resolve({ sent, acked: now(), err: err ? String(err) : null, ack }));
  });

  // Pools.
  const poolCount = Math.max(opts.procs, 1);
  const pools = [];
  const per = Math.floor(opts.players / poolCount);
  let first = 0;
  for (let k = 0; k < poolCount; k++) {
    const count = per + (k < opts.players % poolCount ? 1 : 0);
    const pool = {
      index: k, count, ready: false, joined: null, qstarted: new Set(), qacked: new Set(), qdone: new Set(),
      finalDone: false, report: null,
    };
    const onMsg = (msg) => {
      if (msg.t === "ready") pool.ready = true;
      else if (msg.t === "joined") pool.joined = msg;
      else if (msg.t === "qdone") pool.qdone.add(msg.q);
      else if (msg.t === "qstarted") pool.qstarted.add(msg.q);
      else if (msg.t === "qacked") pool.qacked.add(msg.q);
      else if (msg.t === "final_done") pool.finalDone = true;
      else if (msg.t === "report") pool.report = msg;
      else if (msg.t === "fatal") { console.error(`pool ${k}: ${msg.error}`); process.exit(1); }
    };
    if (opts.procs === 0) {
      const local = new PlayerPool((msg) => setImmediate(() => onMsg(msg)));
      pool.post = (msg) => setImmediate(() => local.handle(msg));
    } else {
      const child = fork(fileURLToPath(import.meta.url), ["--child"], { serialization: "advanced" });
      child.on("message", onMsg);
      child.on("exit", (code) => { if (code && !pool.report) console.error(`pool ${k} exited with ${code}`); });
      pool.child = child;
      pool.post = (msg) => child.send(msg);
    }
    pool.post({
      t: "init",
      cfg: {
        poolIndex: k,
        first,
        count,
        urls: opts.urlList,
        pin,
        transport: opts.transport,
        client: opts.client,
        rampPerPool: opts.ramp > 0 ? (opts.ramp * count) / opts.players : 0,
        questions: opts.questions,
        calibrate: opts.calibrate,
        calibrateAnswers: opts["calibrate-answers"],
        answerMin: opts.answerMin,
        answerMax: opts.answerMax,
        joinTimeoutMs: opts["join-timeout-ms"],
        ackTimeoutMs: opts["ack-timeout-ms"],
        duplicateFraction: opts["duplicate-fraction"],
        seed: opts.seed,
      },
    });
    pools.push(pool);
    first += count;
  }
  await waitFor(() => pools.every((p) => p.ready), 15000);

  // Join.
  mark("join_start");
  const joinStart = now();
  for (const pool of pools) pool.post({ t: "join" });
  await waitFor(() => pools.every((p) => p.joined !== null), opts["join-timeout-ms"] + 10000, 20);
  const joinedOk = pools.reduce((a, p) => a + (p.joined?.ok || 0), 0);
  const hostSawAll = await waitFor(() => host.joined >= joinedOk, 10000, 10);
  if (joinedOk === 0) throw new Error("no player joined");
  const joinEnd = now();
  mark("join_end");
  const joinCodes = {};
  for (const pool of pools) for (const [c, n] of Object.entries(pool.joined?.codes || {})) joinCodes[c] = (joinCodes[c] || 0) + n;
  if (joinedOk < opts.players) console.error(`join failures: ${JSON.stringify(joinCodes)}`);
  console.error(`joined ${joinedOk}/${opts.players} in ${((joinEnd - joinStart) / 1000).toFixed(1)} s (host saw ${host.joined})`);

  await sleep(500);
  // Questions.
  const allPools = (set, q) => pools.every((p) => p[set].has(q));
  const hostCommand = async (event) => {
    const cmd = await emitHost(event);
    if (cmd.err || !cmd.ack?.ok) throw new Error(`host ${event} failed: ${cmd.err || JSON.stringify(cmd.ack)}`);
    return cmd;
  };
  mark("play_start");
  const questions = [];
  for (let q = 0; q < opts.questions; q++) {
    phase(`q${q}_start`);
    const cmd = await hostCommand(q === 0 ? "start_game" : "next_question");
    const allStarted = await waitFor(() => allPools("qstarted", q), 30000, 2);
    phase(`q${q}_started`);
    let end = null;
    let ended;
    let allAcked = null;
    if (opts.endMode === "auto") {
      const limit = opts["time-limit-s"] * 1000 + 2000;
      ended = await waitFor(() => host.ended.has(q), limit + opts.answerMax);
    } else {
      // The host ends the question: once every player has its ack (or at most
      // --end-after-ms after its command), or always --end-after-ms after it.
      const left = Math.max(0, cmd.sent + opts.endAfterMs - now());
      if (opts.endMode === "acks") allAcked = await waitFor(() => allPools("qacked", q), left, 2);
      else await sleep(left);
      phase(`q${q}_acked`);
      end = await hostCommand("end_question");
      ended = await waitFor(() => host.ended.has(q), 30000);
    }
    const revealed = await waitFor(() => allPools("qdone", q), opts["reveal-timeout-ms"], 2);
    questions.push({
      index: q, command: cmd, end_command: end, ended_at: host.ended.get(q) ?? null, ended_in_time: ended,
      all_started: allStarted, all_acked: allAcked, all_results: revealed, host_end: host.endedData.get(q) ?? null,
    });
    phase(`q${q}_end`);
    const how = opts.endMode === "auto" ? `ended ${ended ? "" : "NOT "}by itself` : `ended by the host${allAcked === false ? " (NOT all acked)" : ""}`;
    console.error(`question ${q + 1}/${opts.questions}: ${how}, results ${revealed ? "all" : "NOT all"} delivered`);
    if (q + 1 < opts.questions) await sleep(opts["pause-ms"]);
  }
  mark("play_end");

  // Calibration, answered: for each, once every player has question_started and the
  // broadcast has settled, every player answers within the answer window of one signal;
  // the window from that signal to the last ack holds the answers and nothing else (the
  // cost model's per-answer figure, "isolated"); then the reveal, as for a silent one.
  const answerCalibration = [];
  for (let k = 0; k < opts["calibrate-answers"]; k++) {
    const qi = opts.questions + k;
    await sleep(opts["pause-ms"]);
    const cmd = await hostCommand("next_question");
    const allStarted = await waitFor(() => allPools("qstarted", qi), 30000, 2);
    await sleep(300);
    phase(`acal${k}_go`);
    const go = now();
    for (const pool of pools) pool.post({ t: "answer", q: qi });
    const allAcked = await waitFor(() => allPools("qacked", qi), opts.answerMax + opts["ack-timeout-ms"], 2);
    phase(`acal${k}_acked`);
    await sleep(300);
    phase(`acal${k}_reveal_start`);
    const end = await hostCommand("end_question");
    const revealed = await waitFor(() => allPools("qdone", qi), opts["reveal-timeout-ms"], 2);
    phase(`acal${k}_reveal_end`);
    answerCalibration.push({
      index: qi, command: cmd, end_command: end, go, all_started: allStarted, all_acked: allAcked,
      all_results: revealed,
    });
  }

  // Calibration: silent questions (nobody answers), each in two measured windows: the
  // broadcast (the host's next_question until every player has question_started) and the
  // reveal (the host's end_question until every player has your_result).
  const calibration = [];
  for (let k = 0; k < opts.calibrate; k++) {
    const qi = opts.questions + opts["calibrate-answers"] + k;
    await sleep(opts["pause-ms"]);
    phase(`cal${k}_bcast_start`);
    const cmd = await hostCommand("next_question");
    const allStarted = await waitFor(() => allPools("qstarted", qi), 30000, 2);
    phase(`cal${k}_bcast_end`);
    await sleep(300);
    phase(`cal${k}_reveal_start`);
    const end = await hostCommand("end_question");
    const revealed = await waitFor(() => allPools("qdone", qi), opts["reveal-timeout-ms"], 2);
    phase(`cal${k}_reveal_end`);
    calibration.push({ index: qi, command: cmd, end_command: end, all_started: allStarted, all_results: revealed });
  }

  // Idle: everyone connected, nothing happening: the server's background CPU rate
  // (Engine.IO pings, timers), which the cost model takes off every window
  // (bench/README.md). Late in the game, so that the Engine.IO pings have begun.
  await sleep(500);
  phase("idle_start");
  await sleep(opts["idle-ms"]);
  phase("idle_end");

  // Finish: the last next_question ends the game (its ack comes after the results are stored).
  await sleep(opts["pause-ms"]);
  mark("finish_start");
  const fin = await emitHost("next_question");
  const finalsOk = await waitFor(() => pools.every((p) => p.finalDone), opts["reveal-timeout-ms"]);
  mark("finish_end");
  for (const pool of pools) pool.post({ t: "finish" });
  await waitFor(() => pools.every((p) => p.report !== null), 30000, 20);
  hostSocket.disconnect();

  // ---------------------------------------------------------------- analysis
  const players = pools.flatMap((p) => p.report?.players || []);
  const joinedPlayers = players.filter((p) => p.failed === null && p.welcome !== null);
  const m = {
    join_connect: joinedPlayers.map((p) => p.connect - p.start),
    join_welcome: joinedPlayers.map((p) => p.welcome - p.start),
    broadcast: [],
    answer_ack: [],
    answer_send_late: [],
    question_ended: [],
    your_result: [],
    reveal_end_question: [],
    your_result_after_own_ended: [],
    final_result: [],
    calibration_broadcast: [],
    calibration_reveal: [],
  };
  const perQuestion = [];
  const acked = new Set();
  const ackCodes = {};
  let okAcks = 0;
  let doubleOk = 0;
  let missedStart = 0;
  let missedResult = 0;
  let unanswered = 0;
  for (let q = 0; q < opts.questions; q++) {
    const info = questions[q];
    const pq = {
      broadcast: [], answer_ack: [], your_result: [], reveal_end_question: [], question_ended: [],
      answer_send_late: [],
    };
    let lastAck = null;
    let firstStart = null;
    let lastStart = null;
    for (const p of joinedPlayers) {
      const s = p.q[q];
      if (s.started === null) missedStart += 1;
      else {
        pq.broadcast.push(s.started - info.command.sent);
        firstStart = firstStart === null ? s.started : Math.min(firstStart, s.started);
        lastStart = lastStart === null ? s.started : Math.max(lastStart, s.started);
      }
      if (s.sent !== null) {
        if (s.due != null) pq.answer_send_late.push(s.sent - s.due);
        let oks = 0;
        for (const a of s.acks) {
          ackCodes[a.code || "ok"] = (ackCodes[a.code || "ok"] || 0) + 1;
          if (a.ok) {
            oks += 1;
            okAcks += 1;
            pq.answer_ack.push(a.at - s.sent);
            lastAck = lastAck === null ? a.at : Math.max(lastAck, a.at);
          }
        }
        if (oks >= 1 && p.player_id) acked.add(`${p.player_id}:${q}`);
        if (oks > 1) doubleOk += oks - 1;
      } else if (s.started !== null) unanswered += 1;
      if (info.ended_at !== null && s.ended !== null) pq.question_ended.push(s.ended - info.ended_at);
      if (s.result === null) missedResult += 1;
      else {
        if (info.ended_at !== null) pq.your_result.push(s.result - info.ended_at);
        if (info.end_command) pq.reveal_end_question.push(s.result - info.end_command.sent);
        if (s.ended !== null) m.your_result_after_own_ended.push(s.result - s.ended);
      }
    }
    for (const k of Object.keys(pq)) m[k].push(...pq[k]);
    const qs = Object.fromEntries(Object.entries(pq).map(([k, v]) => [k, summary(v)]));
    qs.host_command_ack_ms = info.command.acked - info.command.sent;
    qs.end_question_ack_ms = info.end_command ? info.end_command.acked - info.end_command.sent : null;
    qs.all_acked = info.all_acked;
    qs.broadcast_spread_ms = lastStart !== null ? lastStart - firstStart : null;
    // Per server process (players are spread over --urls): a tail that only one
    // process shows is that process's, e.g. the pub/sub relay's.
    if (opts.urlList.length > 1) {
      qs.broadcast_by_url = {};
      for (const url of opts.urlList) {
        const own = joinedPlayers.filter((p) => p.url === url && p.q[q].started !== null);
        qs.broadcast_by_url[url] = summary(own.map((p) => p.q[q].started - info.command.sent));
      }
    }
    qs.question_open_ms = info.ended_at !== null ? info.ended_at - info.command.sent : null;
    // from the last accepted answer's ack to the host's question_ended (auto_end_question's
    // delay, or the host's reaction and its end_question)
    qs.auto_end_after_last_ack_ms = info.ended_at !== null && lastAck !== null ? info.ended_at - lastAck : null;
    qs.host_end = info.host_end;
    qs.ended_by_itself = info.ended_in_time;
    qs.all_results_delivered = info.all_results;
    perQuestion.push(qs);
  }
  for (const p of joinedPlayers) if (p.final !== null) m.final_result.push(p.final - fin.sent);
  const calibrationOut = calibration.map((c) => {
    const bcast = [];
    const reveal = [];
    for (const p of joinedPlayers) {
      const s = p.q[c.index];
      if (s.started !== null) bcast.push(s.started - c.command.sent);
      if (s.result !== null) reveal.push(s.result - c.end_command.sent);
    }
    m.calibration_broadcast.push(...bcast);
    m.calibration_reveal.push(...reveal);
    return {
      index: c.index, all_started: c.all_started, all_results: c.all_results,
      host_command_ack_ms: c.command.acked - c.command.sent, end_ack_ms: c.end_command.acked - c.end_command.sent,
      broadcast: summary(bcast), reveal: summary(reveal),
    };
  });

  // The answered calibration questions: their acks (apart from the workload's percentiles)
  // and their answers in the exactly-once check (they are stored like any other).
  let calibrationAcked = 0;
  const answerCalibrationOut = answerCalibration.map((c) => {
    const ack = [];
    for (const p of joinedPlayers) {
      const s = p.q[c.index];
      if (s.sent === null) continue;
      const ok = s.acks.filter((a) => a.ok);
      for (const a of ok) ack.push(a.at - s.sent);
      if (ok.length >= 1 && p.player_id) acked.add(`${p.player_id}:${c.index}`);
      calibrationAcked += ok.length;
    }
    return {
      index: c.index, all_started: c.all_started, all_acked: c.all_acked, all_results: c.all_results,
      answers_acked_ok: ack.length, answer_ack: summary(ack),
    };
  });

  const check = await checkDatabase(opts, game.game_id, acked);
  phase("check_end");

  const metrics = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, summary(v)]));
  const poolStats = pools.map((p) => ({
    pool: p.index,
    players: p.count,
    stats: p.report?.stats || null,
    marks: p.report?.marks || null,
  }));
  const coordStats = processStats(loopDelay);
  // event-loop delay of every generator process during join and play (is the generator late?)
  const loopDelays = (markName) => [
    marks[markName]?.loop_delay_ms,
    ...(opts.procs > 0 ? pools.map((p) => p.report?.marks?.[markName]?.loop_delay_ms) : []),
  ].filter(Boolean);
  const genCpu = (name) => {
    // generator CPU seconds spent in a phase, all processes together
    const [a, b] = name;
    let total = (marks[b]?.cpu_s ?? 0) - (marks[a]?.cpu_s ?? 0);
    for (const p of poolStats) {
      if (opts.procs > 0 && p.marks?.[a] && p.marks?.[b]) total += p.marks[b].cpu_s - p.marks[a].cpu_s;
    }
    return total;
  };
  const joinWall = (marks.join_end.at - marks.join_start.at) / 1000;
  const playWall = (marks.play_end.at - marks.play_start.at) / 1000;
  const failures = {};
  for (const p of players) if (p.failed !== null) failures[p.failed] = (failures[p.failed] || 0) + 1;
  const result = {
    tool: "classquiz-loadgen",
    date: new Date().toISOString(),
    config: {
      urls: opts.urlList,
      players: opts.players,
      questions: opts.questions,
      ramp_per_s: opts.ramp,
      answer_window_ms: [opts.answerMin, opts.answerMax],
      time_limit_s: opts["time-limit-s"],
      transport: opts.transport,
      client: opts.client,
      procs: opts.procs,
      duplicate_fraction: opts["duplicate-fraction"],
      pause_ms: opts["pause-ms"],
      end_mode: opts.endMode,
      end_after_ms: opts.endAfterMs,
      calibrate: opts.calibrate,
      calibrate_answers: opts["calibrate-answers"],
      idle_ms: opts["idle-ms"],
      seed: opts.seed,
    },
    machine: { hostname: os.hostname(), cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, node: process.version, total_mem_gb: os.totalmem() / 2 ** 30 },
    game: { game_id: game.game_id, pin },
    counts: {
      joined: joinedPlayers.length,
      join_failed: failures,
      join_wall_s: joinWall,
      join_rate_per_s: joinedPlayers.length / joinWall,
      host_saw_joined: host.joined,
      host_saw_all_joined: hostSawAll,
      disconnects: players.reduce((a, p) => a + p.disconnects, 0),
      reconnects: players.reduce((a, p) => a + p.reconnects, 0),
      answers_acked_ok: okAcks,
      answer_acks_by_code: ackCodes,
      double_ok_acks: doubleOk,
      missed_question_started: missedStart,
      missed_your_result: missedResult,
      unanswered,
      final_results: m.final_result.length,
      finals_all_delivered: finalsOk,
      host_answer_count_events: host.answerCounts,
    },
    finish: { ack: fin.ack, err: fin.err, ack_ms: fin.acked - fin.sent },
    metrics,
    questions: perQuestion,
    calibration: calibrationOut,
    answer_calibration: answerCalibrationOut,
    exactly_once: check,
    generator: {
      coordinator: coordStats,
      pools: opts.procs > 0 ? poolStats : [],
      loop_delay_join_ms: loopDelays("join_end"),
      loop_delay_play_ms: loopDelays("play_end"),
      cpu_s_join: genCpu(["join_start", "join_end"]),
      cpu_s_play: genCpu(["play_start", "play_end"]),
      cpu_pct_of_one_core_join: (100 * genCpu(["join_start", "join_end"])) / joinWall,
      cpu_pct_of_one_core_play: (100 * genCpu(["play_start", "play_end"])) / playWall,
      play_wall_s: playWall,
      wall_s: (now() - wallStart) / 1000,
    },
    marks: Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, v.at])),
  };

  console.log("");
  printTable(
    `ClassQuiz load test: ${opts.players} players, ${opts.questions} questions, ${opts.urlList.length} server process(es), transport ${opts.transport}, client ${opts.client}, generator procs ${opts.procs}`,
    [
      ["join (io() → connect)", metrics.join_connect],
      ["join (io() → welcome)", metrics.join_welcome],
      ["question broadcast (host emit → question_started)", metrics.broadcast],
      ["answer ack (submit_answer → ack)", metrics.answer_ack],
      ["answer sent late (generator: timer due → emit)", metrics.answer_send_late],
      ["question_ended (host's → player's)", metrics.question_ended],
      ["reveal (host's question_ended → your_result)", metrics.your_result],
      ["reveal (host's end_question emit → your_result)", metrics.reveal_end_question],
      ["your_result after own question_ended", metrics.your_result_after_own_ended],
      ["final_result (host's last next_question → final_result)", metrics.final_result],
      ["silent question broadcast (calibration)", metrics.calibration_broadcast],
      ["silent question reveal (calibration, end_question →)", metrics.calibration_reveal],
    ],
  );
  console.log("");
  for (const [i, q] of perQuestion.entries()) {
    console.log(`q${i}: open ${fmt(q.question_open_ms)} ms, ended ${fmt(q.auto_end_after_last_ack_ms)} ms after the last ack, broadcast p99 ${fmt(q.broadcast.p99)} / reveal p99 ${fmt(q.your_result.p99)} ms, host command ack ${fmt(q.host_command_ack_ms)} ms`);
  }
  const c = result.counts;
  console.log(`joined ${c.joined}/${opts.players} (${c.join_rate_per_s.toFixed(0)}/s; failures ${JSON.stringify(c.join_failed)}), disconnects ${c.disconnects}, answers ok ${c.answers_acked_ok}, acks ${JSON.stringify(c.answer_acks_by_code)}, missed question_started ${c.missed_question_started}, missed your_result ${c.missed_your_result}`);
  if (check.checked && check.game_row) {
    console.log(`exactly-once: ${check.acked_ok} acked answers, ${check.rows} rows in game_answers, lost ${check.lost}, doubled ${check.doubled}, stored without ok ack ${check.extra_unacked} (results in PostgreSQL after ${check.waited_ms} ms)`);
  } else {
    console.log(`exactly-once: NOT checked (${JSON.stringify(check)})`);
  }
  const g = result.generator;
  const ld = (list) => list.map((d) => `${fmt(d.p99)}/${fmt(d.max)}`).join(", ");
  console.log(`generator CPU: join ${g.cpu_s_join.toFixed(2)} s (${g.cpu_pct_of_one_core_join.toFixed(0)}% of a core), play ${g.cpu_s_play.toFixed(2)} s (${g.cpu_pct_of_one_core_play.toFixed(0)}%); event-loop delay p99/max per process: join ${ld(g.loop_delay_join_ms)} ms, play ${ld(g.loop_delay_play_ms)} ms`);
  if (opts.out) {
    writeFileSync(opts.out, JSON.stringify(result, null, 2));
    console.log(`wrote ${opts.out}`);
  }
  for (const pool of pools) pool.child?.kill();
  process.exit(0);
}

// ------------------------------------------------------------------ entry

const opts = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(String(e.message || e));
    console.error(USAGE);
    process.exit(2);
  }
})();
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
if (opts.child) childMain();
else coordinatorMain(opts).catch((e) => { console.error(e?.stack || e); process.exit(1); });
