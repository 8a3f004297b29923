"""Search latency of the embedded PostgreSQL backend over 100,000 generated quizzes.

    .venv/bin/python bench/search_bench.py [--quizzes 100000] [--queries 300] [--embedded]

Creates a throwaway database next to the one given (default: the local
PostgreSQL, as the server finds it; `--embedded`: a fresh pgserver, the
zero-configuration start's PostgreSQL, in a temporary folder), migrates it with the real migrations,
loads generated users and quizzes with COPY, rebuilds the search lexicon with
the backend's own `reindex_all`, then times `PostgresSearchIndex.search()`
(what GET /api/v1/search calls: the typo look-up plus the ranked query, both
round trips included) for several kinds of query, one at a time. Prints a
table, writes the numbers to JSON and appends a dated section to
bench/SEARCH_RESULTS.md. The database is dropped afterwards unless --keep.

The text is synthetic: a Zipf-distributed vocabulary of made-up words plus
common quiz words, so word frequencies (a few very common words, a long tail
of rare ones) look like real text. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classquiz.config import to_driver_url  # noqa: E402
from classquiz.contracts.search import SearchQuery  # noqa: E402
from classquiz.db.engine import connect_database, database, disconnect_database  # noqa: E402
from classquiz.db.migrate import upgrade_database  # noqa: E402
from classquiz.search.postgres import PostgresSearchIndex  # noqa: E402

LANGUAGES = ["en"] * 6 + ["de"] * 2 + ["fr", "es", "it", "nl", "pl"]
COMMON = """python history biology chemistry physics algebra geometry geography music art
literature grammar vocabulary spelling fractions equations planets photosynthesis volcano
rivers mountains capitals countries europe africa asia animals plants cells atoms molecules
energy electricity magnetism gravity weather climate ocean forest desert revolution empire
kingdom romans greeks egypt pyramids medieval renaissance industrial democracy economy
programming loops functions variables arrays databases networks computers internet robots
football basketball tennis olympics painting sculpture poetry novels shakespeare mozart
beethoven dinosaurs mammals reptiles insects birds fishes human body heart brain skeleton
muscles nutrition health vitamins minerals rocks earthquakes tsunamis hurricanes solar
system moon stars galaxy universe astronomy telescopes microscopes experiments quiz basics
advanced introduction review chapter lesson exam practice trivia general knowledge""".split()


def made_up_words(rng: random.Random, count: int) -> list[str]:
    """Pronounceable pseudo-words of 3 to 12 letters, all distinct."""
    onsets = ["", "b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"]
    onsets += ["br", "cr", "dr", "st", "tr", "pl", "gr", "sh", "ch", "th"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ea", "io"]
    codas = ["", "", "n", "r", "s", "l", "m", "t", "nd", "st"]
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.choice([1, 2, 2, 3, 3, 4])
        word = "".join(
            rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables)
        )
        if 3 <= len(word) <= 12:
            words.add(word)
    return sorted(words)


class Text:
    """Draws words with Zipf-like frequencies (rank r has weight 1 / r^1.07)."""

    def __init__(self, rng: random.Random, vocabulary: list[str]) -> None:
        self.rng = rng
        self.words = vocabulary
        weights = [1 / (rank**1.07) for rank in range(1, len(vocabulary) + 1)]
        total, acc, cum = sum(weights), 0.0, []
        for w in weights:
            acc += w / total
            cum.append(acc)
        self.cum = cum

    def words_(self, n: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum, k=n)

    def sentence(self, low: int, high: int) -> str:
        return " ".join(self.words_(self.rng.randint(low, high)))


def generate(rng: random.Random, quizzes: int, users: int) -> tuple[list[tuple], list[tuple], Text]:
    vocabulary = made_up_words(rng, 30_000)
    rng.shuffle(vocabulary)
    # Real quiz words among the most frequent ranks, so queries for them hit a lot.
    for i, word in enumerate(COMMON):
        vocabulary.insert(min(len(vocabulary), i * 7), word)
    text = Text(rng, vocabulary)
    tags = [w for w in vocabulary[:400] if len(w) >= 3][:300]
    now = datetime.now(UTC)
    user_rows = [
        (str(uuid.uuid4()), f"user{i}@bench.example", f"user{i}", "x", now) for i in range(users)
    ]
    quiz_rows = []
    for _ in range(quizzes):
        n_questions = rng.randint(5, 15)
        questions = [
            {
                "type": "single",
                "text": text.sentence(5, 13).capitalize() + "?",
                "time_limit_s": 20,
                "points": 1,
                "choices": [
                    {"text": text.sentence(1, 3)},
                    {"text": text.sentence(1, 3), "correct": True},
                ],
            }
            for _ in range(n_questions)
        ]
        created = now - timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
        quiz_rows.append(
            (
                str(uuid.uuid4()),
                rng.choice(user_rows)[0],
                text.sentence(2, 5).title(),
                text.sentence(6, 25),
                rng.random() < 0.8,
                rng.choice(LANGUAGES),
                json.dumps(rng.sample(tags, rng.randint(0, 3))),
                json.dumps(questions),
                n_questions,
                created,
                created + timedelta(seconds=rng.randint(0, 86400 * 30)),
            )
        )
    return user_rows, quiz_rows, text


def copy_rows(cur: Any, table: str, columns: list[str], rows: list[tuple]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(
            ["" if v is None else (v.isoformat() if isinstance(v, datetime) else v) for v in row]
        )
    buf.seek(0)
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buf)


def typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "replace", "insert"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    letter = rng.choice(string.ascii_lowercase)
    if kind == "replace":
        return word[:i] + letter + word[i + 1 :]
    return word[:i] + letter + word[i:]


def query_kinds(
    rng: random.Random, sample: list[dict[str, Any]], lexicon: list[str]
) -> dict[str, Callable[[], SearchQuery]]:
    """Query makers, drawn from real rows so most queries have hits, as in real use."""
    typo_worthy = [w for w in lexicon if len(w) >= 5 and w.isalpha()]

    def title_word(min_len: int = 1) -> str:
        while True:
            row = rng.choice(sample)
            words = [w.lower() for w in row["title"].split() if len(w) >= min_len]
            if words:
                return rng.choice(words)

    def row_with_tags() -> dict[str, Any]:
        while True:
            row = rng.choice(sample)
            if row["tags"]:
                return row

    def filtered() -> SearchQuery:
        row = row_with_tags()
        word = rng.choice(row["title"].split()).lower()
        return SearchQuery(q=word, language=row["language"], tags=[rng.choice(row["tags"])])

    return {
        "exact_word": lambda: SearchQuery(q=title_word()),
        "two_words": lambda: SearchQuery(q=" ".join(rng.choice(sample)["title"].split()[:2])),
        "typo": lambda: SearchQuery(q=typo(rng, title_word(5))),
        "prefix": lambda: SearchQuery(q=(w := title_word(5))[: rng.randint(3, len(w) - 1)]),
        "word_lang_tag": filtered,
        "word_page_3": lambda: SearchQuery(q=title_word(), limit=20, offset=40),
        "browse_language": lambda: SearchQuery(language=rng.choice(LANGUAGES)),
        "common_word": lambda: SearchQuery(q=rng.choice(COMMON[:20])),
        # Uniform over distinct words: mostly the long tail, as most real searches are.
        "lexicon_word": lambda: SearchQuery(q=rng.choice(lexicon)),
        # A typo in a long-tail word: its zero-hit share is the share of typos not corrected.
        "lexicon_typo": lambda: SearchQuery(q=typo(rng, rng.choice(typo_worthy))),
        # Nothing matches: every tier and the typo look-up run, the worst case for work.
        "no_match": lambda: SearchQuery(q="".join(rng.choices("qxzjkv", k=rng.randint(5, 9)))),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


# What the numbers depend on: a change here (uncommitted) makes the head "+dirty".
MEASURED = ["classquiz/search", "classquiz/db", "bench/search_bench.py"]


def git_head() -> str:
    """The commit measured (with `+dirty` when the work tree had changes)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", *MEASURED],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "host": platform.node(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
    }


async def run_queries(
    index: PostgresSearchIndex, kinds: dict[str, Callable[[], SearchQuery]], n: int
) -> dict[str, dict[str, Any]]:
    for make in kinds.values():  # warm caches and plans
        for _ in range(10):
            await index.search(make())
    results: dict[str, dict[str, Any]] = {}
    everything: list[float] = []
    for name, make in kinds.items():
        times: list[float] = []
        totals: list[int] = []
        for _ in range(n):
            query = make()
            started = time.perf_counter()
            result = await index.search(query)
            times.append((time.perf_counter() - started) * 1000)
            totals.append(result.total)
        everything.extend(times)
        results[name] = summary(times) | {
            "median_total_hits": statistics.median(totals),
            "zero_hit_share": round(sum(1 for t in totals if t == 0) / len(totals), 3),
        }
    results["all"] = summary(everything)
    return results


def summary(times: list[float]) -> dict[str, Any]:
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "max_ms": round(max(times), 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


def markdown(report: dict[str, Any]) -> str:
    m, setup = report["machine"], report["setup"]
    lines = [
        f"## {report['date']} — {setup['quizzes']:,} quizzes on {m['host']}",
        "",
        f"- Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gb']} GB RAM; {m['os']}",
        f"- {report['postgres']}"
        f"{' (embedded: pgserver)' if report['embedded'] else ''}; "
        f"pg_trgm: {'yes' if report['trigram'] else 'no'}; Python {m['python']}; "
        f"git head {report['git_head']}",
        f"- Data: {setup['quizzes']:,} quizzes ({setup['public']:,} public), "
        f"{setup['users']:,} users, {setup['lexicon_words']:,} lexicon words, "
        f"database {setup['database_mb']:,} MB",
        f"- Load (COPY, generated columns computed on insert, then VACUUM ANALYZE): "
        f"{setup['load_s'] if setup['load_s'] is not None else 'reused database'} s; "
        f"`reindex_all` (lexicon): {setup['reindex_s']} s",
        f"- Search state a process keeps (Python allocations of `start()`, which loads the "
        f"in-memory lexicon): {setup['search_memory_mb']} MB, loaded in {setup['start_s']} s",
        f"- {report['queries_per_kind']} queries per kind, one at a time, through "
        "`PostgresSearchIndex.search()` (typo look-up + ranked query, default page of 20)",
        "",
        "| kind | p50 ms | p95 ms | p99 ms | max ms | median total hits | zero-hit share |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["results"].items():
        lines.append(
            f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['max_ms']} "
            f"| {row.get('median_total_hits', '')} | {row.get('zero_hit_share', '')} |"
        )
    if report.get("typo_lookups"):
        lines += [
            "",
            "Typo look-up alone, one query word (a typo of a long-tail lexicon word), the two",
            "ways measured alternately on the same words and connection:",
            "",
            "| look-up | p50 ms | p95 ms | p99 ms | max ms | original word among corrections |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, row in report["typo_lookups"].items():
            lines.append(
                f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} "
                f"| {row['max_ms']} | {row['found_share']} |"
            )
    return "\n".join(lines) + "\n"


# The look-up migration 0006 replaced, kept only to measure against: the 24 lexicon words of
# the same first letter and a length within budget most similar by pg_trgm, then the rule.
_TRIGRAM_LOOKUP = """
SELECT word FROM search_words
WHERE left(word, 1) = left(:tok, 1)
  AND length(word) BETWEEN length(:tok) - :budget AND length(:tok) + :budget
ORDER BY similarity(word, :tok) DESC, word
LIMIT 24
"""


async def compare_typo_lookups(
    index: PostgresSearchIndex, rng: random.Random, lexicon: list[str], n: int
) -> dict[str, dict[str, Any]]:
    """Both typo look-ups for the same `n` typos, alternating which goes first."""
    import sqlalchemy

    from classquiz.search.postgres import MAX_CORRECTIONS
    from classquiz.search.text import allowed_typos, is_typo_of

    worthy = [w for w in lexicon if len(w) >= 5 and w.isalpha()]
    pairs = [(w, typo(rng, w)) for w in rng.sample(worthy, min(n, len(worthy)))]
    times: dict[str, list[float]] = {"pg_trgm (before 0006)": [], "in-memory (0006)": []}
    found = dict.fromkeys(times, 0)
    async with database.connection() as conn:
        # The old look-up's btree (dropped by 0006), so it is measured as it ran.
        await conn.execute(
            sqlalchemy.text(
                "CREATE INDEX IF NOT EXISTS bench_first_len ON search_words "
                "(left(word, 1), length(word))"
            )
        )
        await conn.execute(sqlalchemy.text("ANALYZE search_words"))
        try:
            for i, (word, token) in enumerate(pairs):
                budget = allowed_typos(token)
                for name in sorted(times, reverse=i % 2 == 1):
                    started = time.perf_counter()
                    if name.startswith("pg_trgm"):
                        params = {"tok": token, "budget": budget}
                        rows = (await conn.execute(sqlalchemy.text(_TRIGRAM_LOOKUP), params)).all()
                        options = [r[0] for r in rows if is_typo_of(token, r[0], prefix=False)]
                        options = options[:MAX_CORRECTIONS]
                    else:
                        lexicon_copy = await index.refresh_lexicon(conn)
                        options = lexicon_copy.corrections(
                            token, prefix=False, limit=MAX_CORRECTIONS
                        )
                    times[name].append((time.perf_counter() - started) * 1000)
                    found[name] += word in options or word == token
        finally:
            await conn.execute(sqlalchemy.text("DROP INDEX IF EXISTS bench_first_len"))
            await conn.commit()
    return {
        name: summary(values) | {"found_share": round(found[name] / len(pairs), 3)}
        for name, values in times.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--quizzes", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=300, help="per kind")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--json", default=str(ROOT / "bench" / "search_results.json"))
    parser.add_argument("--markdown", default=str(ROOT / "bench" / "SEARCH_RESULTS.md"))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--database", help="reuse this already loaded database (kept) instead of generating one"
    )
    parser.add_argument(
        "--compare-trigram",
        action="store_true",
        help="also time the pg_trgm typo look-up that migration 0006 replaced (needs pg_trgm)",
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="run against a fresh embedded PostgreSQL (pgserver) instead of --admin-url",
    )
    args = parser.parse_args()
    return asyncio.run(bench(args))


async def bench(args: argparse.Namespace) -> int:
    if not args.embedded:
        return await bench_on(args, args.admin_url, lambda name: _sibling(args.admin_url, name))
    import pgserver

    data = tempfile.mkdtemp(prefix="cqbench")  # short: the socket lives there
    server = pgserver.get_server(data, cleanup_mode="delete")
    try:
        return await bench_on(args, server.get_uri(), server.get_uri)
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)


def _sibling(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def bench_on(args: argparse.Namespace, admin_url: str, url_of: Callable[[str], str]) -> int:
    rng = random.Random(args.seed)
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    name = args.database or f"cqbench_search_{uuid.uuid4().hex[:8]}"
    if not args.database:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    url = url_of(name)
    try:
        upgrade_database(url)
        load_s = load(url, rng, args) if not args.database else None

        await connect_database(to_driver_url(url, "asyncpg"), pool_size=2)
        index = PostgresSearchIndex(database)
        started = time.perf_counter()
        public = await index.reindex_all()
        reindex_s = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await index.start()  # loads the in-memory lexicon
        start_s = round(time.perf_counter() - started, 2)
        # What a process keeps for search: allocated by start() (tracemalloc slows it, so a
        # second index, only for this), still held afterwards.
        tracemalloc.start()
        probe = PostgresSearchIndex(database)  # referenced until measured, or it is freed
        await probe.start()
        kept_mb = round(tracemalloc.get_traced_memory()[0] / 1024 / 1024, 1)
        tracemalloc.stop()
        del probe

        facts = database_facts(url, args.seed)
        print(f"timing {args.queries} queries per kind ...", flush=True)
        lexicon = facts.pop("lexicon")
        kinds = query_kinds(rng, facts.pop("sample"), lexicon)
        results = await run_queries(index, kinds, args.queries)
        lookups = None
        if args.compare_trigram and facts["trigram"]:
            print("comparing typo look-ups with the pg_trgm one ...", flush=True)
            lookups = await compare_typo_lookups(index, rng, lexicon, args.queries)
        await disconnect_database()

        report = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "postgres": facts["postgres"],
            "trigram": facts["trigram"],
            "embedded": args.embedded,
            "git_head": git_head(),
            "queries_per_kind": args.queries,
            "setup": {
                "quizzes": facts["quizzes"],
                "public": public,
                "users": facts["users"],
                "lexicon_words": facts["lexicon_words"],
                "database_mb": facts["database_mb"],
                "load_s": load_s,
                "reindex_s": reindex_s,
                "start_s": start_s,
                "search_memory_mb": kept_mb,
            },
            "results": results,
            "typo_lookups": lookups,
        }
        write_report(args, report)
    finally:
        if not (args.keep or args.database):
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


def load(url: str, rng: random.Random, args: argparse.Namespace) -> float:
    """Generate and COPY the users and quizzes; returns the seconds the load took."""
    print(f"generating {args.quizzes:,} quizzes ...", flush=True)
    users, quizzes, _ = generate(rng, args.quizzes, args.users)
    started = time.perf_counter()
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        copy_rows(cur, "users", ["id", "email", "username", "password_hash", "created_at"], users)
        columns = ["id", "owner_id", "title", "description", "public", "language", "tags"]
        columns += ["questions", "question_count", "created_at", "updated_at"]
        for i in range(0, len(quizzes), 10_000):
            copy_rows(cur, "quizzes", columns, quizzes[i : i + 10_000])
            print(f"  loaded {min(i + 10_000, len(quizzes)):,}", flush=True)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")  # what autovacuum would have done by the time of use
    conn.close()
    return round(time.perf_counter() - started, 1)


def database_facts(url: str, seed: int) -> dict[str, Any]:
    """Sizes and versions for the report, and 5,000 public quizzes to draw queries from."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(" on ")[0]
        cur.execute("SELECT (SELECT count(*) FROM quizzes), (SELECT count(*) FROM users)")
        quizzes, users = cur.fetchone()
        cur.execute("SELECT count(*) FROM search_words")
        lexicon = cur.fetchone()[0]
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')")
        trigram = cur.fetchone()[0]
        cur.execute("SELECT pg_database_size(current_database())")
        size_mb = round(cur.fetchone()[0] / 1024 / 1024)
        cur.execute(
            "SELECT title, language, CAST(tags AS text) FROM quizzes WHERE public "
            "ORDER BY md5(id || %s) LIMIT 5000",
            (str(seed),),
        )
        sample = [
            {"title": t, "language": lang, "tags": json.loads(tags or "[]")}
            for t, lang, tags in cur.fetchall()
        ]
        cur.execute(
            "SELECT word FROM search_words ORDER BY md5(word || %s) LIMIT 5000", (str(seed),)
        )
        words = [row[0] for row in cur.fetchall()]
    conn.close()
    return {
        "postgres": version,
        "quizzes": quizzes,
        "users": users,
        "lexicon_words": lexicon,
        "trigram": trigram,
        "database_mb": size_mb,
        "sample": sample,
        "lexicon": words,
    }


def write_report(args: argparse.Namespace, report: dict[str, Any]) -> None:
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    section = markdown(report)
    print()
    print(section)
    md = Path(args.markdown)
    header = (
        "# Search benchmark results (PostgreSQL backend)\n\nWritten by "
        "`bench/search_bench.py`; newest run last.\n"
    )
    md.write_text((md.read_text() if md.exists() else header) + "\n" + section)


if __name__ == "__main__":
    sys.exit(main())
