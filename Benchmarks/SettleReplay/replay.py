#!/usr/bin/env python3
"""The split's SQLite writes, replayed without the gateway, to weigh schema changes before making them.

Makes a store with `offpeak migrate` (the schema the gateway ships), fills it with 50,000 submitted
requests of one batch, then settles them in transactions of 500 as a split does, and prints how
long the settling took. Python's sqlite3 links the same system SQLite as the gateway. Its own cost
per statement is higher than the gateway's, so compare variants with each other, not with the
split stage's figure.

  current   what SQLiteStore's `Finishing` and `SQLiteLedger.append` do today: the request found
            under its guard, its row updated by seq, its response body and usage record inserted,
            the hourly and daily totals rolled up from the chunk's records.
  one-row   a design with one appended row per request: its result (status, tokens, cost, body)
            in a results table, the request's status updated by seq, the totals rolled up from the
            chunk's results; no response-body row and no usage record.
  file-bodies
            today's rows less the response-body rows: the chunk's answers appended to a file beside
            the database and synced before the transaction commits (a row would name its answer's
            offset), so that they are written once instead of to SQLite's log and again at the
            checkpoint.
  file-bodies-no-records
            file-bodies with no usage record either: the totals rolled up from the requests' own
            rows (which already hold each one's tokens and cost).

usage: Benchmarks/SettleReplay/replay.py [--offpeak .build/release/offpeak] [variant ...]
Set GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456: without it, glibc gives the top of
Python's heap back and takes it again for each of SQLite's temporary tables (Benchmarks/notes.md).
"""
import argparse
import os
import random
import sqlite3
import string
import subprocess
import tempfile
import time

REQUESTS = 50_000
CHUNK = 500
START = 1_764_633_600.0
SUMS = ["requests", "completed", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
        "billed_micros", "billed_rest", "list_micros", "list_rest", "unpriced"]
BUCKETS = [("usage_hours", "hour", 3600), ("usage_days", "day", 86400)]
# The size of the split stage's answers: its output file is 90.2 MB for 50,000 lines.
ANSWER = (b'{"id":"chatcmpl","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
          b'"content":"' + b"y" * 1400 + b'"}}],"usage":{"prompt_tokens":20,"completion_tokens":80}}')


def roll_up(table, column, seconds, contributions, source):
    """The totals' upsert, from `source` (a FROM clause with its WHERE) summed by `contributions`."""
    return f"""INSERT INTO {table} ({column}, owner, upstream, model, lane, currency, {', '.join(SUMS)})
        SELECT CAST(ended_at AS INTEGER) / {seconds}, owner, upstream, model, lane, currency,
               {', '.join(f'SUM({c})' for c in contributions)}
        FROM {source} GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT ({column}, owner, upstream, model, lane, currency) DO UPDATE SET
        {', '.join(f'{s} = {table}.{s} + excluded.{s}' for s in SUMS)}"""


RECORD_SUMS = ["1", "completed", "COALESCE(prompt_tokens, 0)", "COALESCE(completion_tokens, 0)",
               "COALESCE(cached_tokens, 0)", "COALESCE(reasoning_tokens, 0)", "COALESCE(billed_picos, 0) / 1000000",
               "COALESCE(billed_picos, 0) % 1000000", "COALESCE(list_picos, 0) / 1000000",
               "COALESCE(list_picos, 0) % 1000000", "1 - priced"]


def prepare(offpeak, path):
    subprocess.run([offpeak, "migrate", "--database", path, "--log-level", "error"], check=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("""INSERT INTO batches (id, endpoint, model, state, request_count, file_bytes, created_at, upstream_id)
        VALUES ('bat_1', '/v1/chat/completions', 'qwen-plus', 'live', ?, 1, 0, 'batch_1')""", (REQUESTS,))
    db.execute("BEGIN")
    ids = []
    for line in range(REQUESTS):
        # Ordered like the gateway's ids: a time prefix, then random characters.
        id = "dfr_%08d%s" % (line, "".join(random.choices(string.ascii_letters, k=16)))
        ids.append(id)
        db.execute("""INSERT INTO deferred_requests (id, owner, endpoint, model, status, created_at, attempts, body_digest,
                body_bytes, line_bytes, delivery_status, upstream, submitted_at, batch_id, batch_line)
            VALUES (?, '', '/v1/chat/completions', 'qwen-plus', 'submitted', ?, 1, ?, 1000, 1100, 'none', 'default', ?,
                'bat_1', ?)""", (id, START + line * 0.001, id, START + 60, line))
        db.execute("INSERT INTO request_bodies (seq, body) VALUES (?, ?)", (line + 1, b"x" * 1000))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db, ids


def found(db, id):
    """The request under the settle's guard: seq, owner, upstream, model, endpoint."""
    return db.execute(
        "SELECT seq, owner, upstream, model, endpoint FROM deferred_requests "
        "WHERE id = ? AND batch_id = ? AND status = 'submitted'", (id, "bat_1")).fetchone()


def settle_current(db, chunk, now, answers_in_file=False, records=True):
    """What the store does today; with `answers_in_file`, the answers appended to `ANSWERS_FILE`
    and synced before the commit instead of written to `response_bodies`; without `records`, no
    usage record, the totals rolled up from the requests' own rows."""
    before = db.execute("SELECT COALESCE(MAX(seq), 0) FROM usage_records").fetchone()[0]
    first = None
    for id in chunk:
        seq, owner, upstream, model, endpoint = found(db, id)
        first = first or seq
        db.execute("""UPDATE deferred_requests SET status = ?, completed_at = ?, response_status = ?,
                response_request_id = ?, prompt_tokens = ?, completion_tokens = ?, cached_tokens = ?, reasoning_tokens = ?,
                cost_lane = ?, cost_currency = ?, cost_priced = ?, cost_billed = ?, cost_list = ?, served_by = ?
            WHERE seq = ?""",
                   ("completed", now, 200, "req_1", 20, 80, None, None, "batch", "USD", 1, 1_000_000, 2_000_000, "batch", seq))
        if not answers_in_file:
            db.execute("INSERT OR REPLACE INTO response_bodies (seq, body) VALUES (?, ?)", (seq, ANSWER))
        if records:
            db.execute("""INSERT INTO usage_records (request_id, lane, owner, upstream, model, endpoint, ended_at, completed,
                    prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, currency, priced, billed_picos, list_picos)
                VALUES (?, 'batch', ?, ?, ?, ?, ?, 1, 20, 80, NULL, NULL, 'USD', 1, 1000000, 2000000)
                ON CONFLICT (request_id, lane) DO NOTHING""", (id, owner, upstream, model, endpoint, int(now)))
    if answers_in_file:
        os.write(ANSWERS_FILE[0], ANSWER * len(chunk))
        os.fdatasync(ANSWERS_FILE[0])
    for table, column, seconds in BUCKETS:
        if records:
            db.execute(roll_up(table, column, seconds, RECORD_SUMS, "usage_records WHERE seq > ?"), (before,))
        else:
            db.execute(roll_up(table, column, seconds, RECORD_SUMS, f"({ROW_AS_RECORD} WHERE seq BETWEEN ? AND ?)"), (first, seq))


def settle_one_row(db, chunk, now):
    first = None
    for id in chunk:
        seq, owner, upstream, model, endpoint = found(db, id)
        first = first or seq
        db.execute("UPDATE deferred_requests SET status = 'completed', completed_at = ? WHERE seq = ?", (now, seq))
        db.execute("INSERT INTO results VALUES (?, 'batch', ?, ?, ?, ?, ?, 1, 200, 'req_1', 20, 80, NULL, NULL, 'USD', 1, "
                   "1000000, 2000000, ?)", (seq, owner, upstream, model, endpoint, now, ANSWER))
    for table, column, seconds in BUCKETS:
        db.execute(roll_up(table, column, seconds, RECORD_SUMS, "results WHERE seq BETWEEN ? AND ?"), (first, seq))


# A request's own row read as its usage record.
ROW_AS_RECORD = """SELECT completed_at AS ended_at, owner, upstream, model, cost_lane AS lane, cost_currency AS currency,
    status = 'completed' AS completed, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens,
    cost_priced AS priced, cost_billed AS billed_picos, cost_list AS list_picos FROM deferred_requests"""
ANSWERS_FILE = []
VARIANTS = {
    "current": settle_current, "one-row": settle_one_row,
    "file-bodies": lambda db, chunk, now: settle_current(db, chunk, now, answers_in_file=True),
    "file-bodies-no-records": lambda db, chunk, now: settle_current(db, chunk, now, answers_in_file=True, records=False),
}


def run(offpeak, variant):
    with tempfile.TemporaryDirectory() as folder:
        db, ids = prepare(offpeak, os.path.join(folder, "replay.sqlite"))
        if variant == "one-row":
            db.execute("""CREATE TABLE results (seq INTEGER PRIMARY KEY, lane TEXT NOT NULL, owner TEXT NOT NULL,
                upstream TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, ended_at REAL NOT NULL,
                completed INTEGER NOT NULL, response_status INTEGER, response_request_id TEXT, prompt_tokens INTEGER,
                completion_tokens INTEGER, cached_tokens INTEGER, reasoning_tokens INTEGER, currency TEXT NOT NULL,
                priced INTEGER NOT NULL, billed_picos INTEGER, list_picos INTEGER, body BLOB)""")
        settle = VARIANTS[variant]
        ANSWERS_FILE[:] = [os.open(os.path.join(folder, "answers"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)]
        now = START + 3600
        start = time.perf_counter()
        for first in range(0, REQUESTS, CHUNK):
            db.execute("BEGIN IMMEDIATE")
            settle(db, ids[first:first + CHUNK], now)
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        settled = db.execute("SELECT SUM(requests) FROM usage_hours").fetchone()[0]
        assert settled == REQUESTS, f"the totals count {settled} requests"
        print(f"{variant}: {REQUESTS} requests settled in {elapsed:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offpeak", default=".build/release/offpeak")
    parser.add_argument("variants", nargs="*", metavar="variant", help=", ".join(VARIANTS))
    arguments = parser.parse_args()
    for variant in arguments.variants or VARIANTS:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}")
        run(arguments.offpeak, variant)
