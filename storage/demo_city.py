"""A La Paz-sized demo city on PostgreSQL: a year of residents, texts, reports, polls and
broadcasts, for trying the console at scale and for the city benchmark (bench/city.py).

Everything is made by set-based SQL inside the database (INSERT ... SELECT over
generate_series), with a deterministic hash of (seed, row, purpose) in place of random
numbers, so the same seed builds the same city. The big tables are written in time order, as
a living service writes them. Their secondary indexes and the foreign keys are dropped for
the load and made again at the end, exactly as the migrations defined them; the whole build is
one transaction, so a failure leaves the database as it was.

Every resident's attributes (zona, language, channel, status and their moments) come from one
plan table, so texts, reports, votes and deliveries agree with them: nobody texts before
signing up, a report's zona is the reporter's zona at that moment (resident_zone_history), a
broadcast reached the residents who were signed up, in its zonas and wanting its topic then.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from storage import audience
from storage.models import REPORT_CATEGORIES, TOPICS, utcnow
from storage.seed import SYNTHETIC_PHONE_BASE

log = logging.getLogger(__name__)

YEAR = timedelta(days=365)
# The zonas file has no populations: urban zonas get a weight between 0.5 and 1.5 (from the
# seed), rural ones (Hampaturi, Zongo) a tenth of an urban one.
RURAL_WEIGHT = 0.1
SLOTS = 4000  # resolution of the weighted zona lookup
STAFF_DOMAIN = "demo.mibarrio.bo"

# Tables the build writes in bulk: their secondary indexes and unique constraints are dropped
# for the load and made again after it (foreign keys are dropped for every table).
BULK_TABLES = (
    "residents",
    "resident_zone_history",
    "conversations",
    "inbound_messages",
    "reports",
    "report_supporters",
    "report_events",
    "votes",
    "deliveries",
    "outbound_messages",
    "audit_log",
)
# What --force empties (the zonas, their information and the schema's version stay).
DATA_TABLES = (
    "audience_counts",
    "audit_log",
    "api_tokens",
    "deliveries",
    "broadcast_zones",
    "broadcasts",
    "staff_users",
    "leaders",
    "votes",
    "poll_options",
    "poll_zones",
    "polls",
    "news_zones",
    "news",
    "report_events",
    "report_supporters",
    "reports",
    "offer_reports",
    "service_offers",
    "outbound_messages",
    "outbox",
    "early_statuses",
    "inbound_messages",
    "conversations",
    "resident_zone_history",
    "residents",
)


@dataclass(frozen=True)
class CityPlan:
    """How big the city is. scale 1.0 is the La Paz-sized one the benchmark uses."""

    residents: int = 1_000_000
    texts: int = 10_000_000
    reports: int = 200_000
    polls: int = 500
    votes: int = 2_000_000
    broadcasts: int = 300
    seed: int = 591

    @classmethod
    def scaled(
        cls, scale: float = 1.0, *, residents: int | None = None, seed: int = 591
    ) -> CityPlan:
        n = residents if residents is not None else max(100, round(1_000_000 * scale))
        ratio = n / 1_000_000
        return cls(
            residents=n,
            texts=10 * n,
            reports=max(10, n // 5),
            polls=max(10, round(500 * ratio)),
            votes=2 * n,
            broadcasts=max(10, round(300 * ratio)),
            seed=seed,
        )


@dataclass
class CityBuilt:
    counts: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    staff: list[str] = field(default_factory=list)


class NotEmptyError(RuntimeError):
    """The database already holds residents or activity (pass force to wipe it)."""


def is_empty(conn: Connection) -> bool:
    for table in ("residents", "inbound_messages", "reports", "broadcasts", "polls", "staff_users"):
        if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table})")).scalar():  # noqa: S608
            return False
    return True


def build_city(
    engine: Engine,
    plan: CityPlan,
    *,
    staff_password_hash: str | None,
    force: bool = False,
    now: datetime | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> CityBuilt:
    """Build the demo city in one transaction; the zonas must be seeded already."""
    if engine.dialect.name != "postgresql":
        raise ValueError(
            "the demo city is built on PostgreSQL only (DATABASE_URL=postgresql://...)"
        )
    now = (now or utcnow()).replace(microsecond=0)
    built = CityBuilt(counts={})
    with engine.connect() as conn:
        if not is_empty(conn):
            if not force:
                raise NotEmptyError("the database already holds residents or activity")
        conn.rollback()
        with conn.begin():
            _settings(conn)
            steps = _Builder(conn, plan, now, staff_password_hash, built, progress)
            steps.run(wipe=force)
    # Outside the transaction: statistics and the visibility map, as a live database has them.
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in BULK_TABLES + ("polls", "poll_options", "broadcasts", "broadcast_zones"):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
    built.seconds["vacuum analyze"] = time.perf_counter() - started
    if progress:
        progress("vacuum analyze", built.seconds["vacuum analyze"])
    return built


def _settings(conn: Connection) -> None:
    for name, value in (
        ("synchronous_commit", "off"),
        ("work_mem", "'256MB'"),
        ("maintenance_work_mem", "'1GB'"),
        ("temp_buffers", "'1GB'"),
        ("max_parallel_maintenance_workers", "2"),
        ("jit", "off"),
    ):
        conn.execute(text(f"SET LOCAL {name} = {value}"))


class _Builder:
    def __init__(
        self,
        conn: Connection,
        plan: CityPlan,
        now: datetime,
        staff_password_hash: str | None,
        built: CityBuilt,
        progress: Callable[[str, float], None] | None,
    ) -> None:
        self.conn = conn
        self.plan = plan
        self.now = now
        self.start = now - YEAR
        self.password = staff_password_hash
        self.built = built
        self.progress = progress
        self.rng = random.Random(plan.seed)

    # -- helpers ---------------------------------------------------------------------------

    def sql(self, statement: str, **params: Any) -> Any:
        return self.conn.execute(text(statement), params)

    def step(self, name: str, fn: Callable[[], None]) -> None:
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        self.built.seconds[name] = elapsed
        log.debug("demo city: %s in %.1fs", name, elapsed)
        if self.progress:
            self.progress(name, elapsed)

    def lit(self, moment: datetime) -> str:
        return f"'{moment.isoformat()}'::timestamptz"

    def run(self, *, wipe: bool) -> None:
        if wipe:
            self.step("wipe", self.wipe)
        self.step("functions", self.functions)
        self.step("drop indexes", self.drop_indexes)
        # Residents are written once, in bulk: their audience counts are made after the load
        # in one pass instead of by the triggers, row by row.
        self.sql("ALTER TABLE residents DISABLE TRIGGER USER")
        self.step("resident plan", self.resident_plan)
        self.step("inbound texts", self.inbound)
        self.step("residents", self.residents)
        self.step("staff", self.staff)
        self.step("reports", self.reports)
        self.step("polls and votes", self.polls)
        self.step("broadcasts and deliveries", self.broadcasts)
        self.step("news", self.news)
        self.step("indexes and keys", self.restore_indexes)
        self.step("audience counts", self.audience)
        self.step("sequences", self.sequences)
        self.step("counts", self.count)

    def wipe(self) -> None:
        self.sql(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE")

    # -- deterministic randomness ------------------------------------------------------------

    def functions(self) -> None:
        s = self.plan.seed
        # r(i, k): a uniform number in [0, 1) for row i and purpose k (inlined by the planner).
        self.sql(
            "CREATE FUNCTION pg_temp.r(i bigint, k int) RETURNS float8 LANGUAGE sql IMMUTABLE"
            f" AS $$ SELECT (hashint8extended(i, {s}::bigint * 1000 + k) & 2147483647)::float8"
            " / 2147483648.0 $$"
        )
        zones = self._zone_weights()
        slots = _weighted_slots(zones, SLOTS)
        self.zone_weights = zones
        array = ",".join(str(z) for z in slots)
        self.sql(
            "CREATE FUNCTION pg_temp.zslot(u float8) RETURNS int LANGUAGE sql IMMUTABLE"
            f" AS $$ SELECT ('{{{array}}}'::int[])[1 + floor(u * {SLOTS})::int] $$"
        )

    def _zone_weights(self) -> dict[int, float]:
        rows = self.sql("SELECT id, kind FROM zones ORDER BY id").all()
        if not rows:
            raise ValueError("no zones: seed the zonas first")
        return {
            zid: (RURAL_WEIGHT if kind == "rural" else 0.5 + self.rng.random())
            for zid, kind in rows
        }

    # -- indexes ---------------------------------------------------------------------------

    def drop_indexes(self) -> None:
        tables = "', '".join(BULK_TABLES)
        self.restore: list[str] = []
        fks = self.sql(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY conname"
        ).all()
        uniques = self.sql(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            f" WHERE contype = 'u' AND conrelid::regclass::text IN ('{tables}') ORDER BY conname"
        ).all()
        indexes = self.sql(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            f" WHERE i.indrelid::regclass::text IN ('{tables}') AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
            " ORDER BY 1"
        ).all()
        for table, name, _ in fks:
            self.sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for table, name, _ in uniques:
            self.sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            self.sql(f"DROP INDEX {name}")
        self.restore += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in uniques]
        self.restore += [definition for _, definition in indexes]
        self.restore += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in fks]

    def restore_indexes(self) -> None:
        for statement in self.restore:
            self.sql(statement)

    def audience(self) -> None:
        """The kept counts of signed-up residents, counted once (their triggers were off)."""
        self.sql("ALTER TABLE residents ENABLE TRIGGER USER")
        audience.recount_postgresql(self.conn)

    def sequences(self) -> None:
        rows = self.sql(
            "SELECT c.relname, pg_get_serial_sequence(c.relname, 'id') FROM pg_class c"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id'"
            " WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
        ).all()
        for table, sequence in rows:
            if sequence:
                self.sql(
                    f"SELECT setval('{sequence}', COALESCE((SELECT max(id) FROM {table}), 0) + 1,"
                    " false)"
                )

    # -- residents -------------------------------------------------------------------------

    def resident_plan(self) -> None:
        """Every resident's attributes, once (a temporary table the later steps join)."""
        n, start, end = self.plan.residents, self.lit(self.start), self.lit(self.now)
        topics_all = json.dumps(list(TOPICS))
        variants = [json.dumps([t for t in TOPICS if t != drop]) for drop in TOPICS]
        self.sql(
            f"""
            CREATE TEMP TABLE plan_res AS
            SELECT i AS id, st.status, c.created, k.consent, lv.left_at, lang.language,
                   CASE WHEN pg_temp.r(i, 6) < 0.55 THEN 'whatsapp' ELSE 'sms' END AS chan,
                   z.zone0,
                   CASE WHEN mv.moved THEN z.zone1 ELSE z.zone0 END AS zone_now,
                   CASE WHEN mv.moved THEN k.consent
                        + pg_temp.r(i, 10) * (COALESCE(lv.left_at, {end}) - k.consent) END
                     AS moved_at,
                   CASE WHEN st.status = 'erased' THEN '[]'
                        WHEN pg_temp.r(i, 11) < 0.85 THEN '{topics_all}'
                        ELSE (ARRAY['{"','".join(variants)}'])[1 + floor(pg_temp.r(i, 13) * 4)::int]
                   END AS topics,
                   CASE WHEN st.status = 'active' AND pg_temp.r(i, 14) < 0.003
                        THEN k.consent + pg_temp.r(i, 15) * ({end} - k.consent) END AS invalid_at
            FROM generate_series(1, {n}) i
            CROSS JOIN LATERAL (SELECT CASE
                WHEN pg_temp.r(i, 2) < 0.004 THEN 'onboarding'
                WHEN pg_temp.r(i, 2) < 0.009 THEN 'erased'
                WHEN pg_temp.r(i, 2) < 0.069 THEN 'opted_out'
                ELSE 'active' END AS status) st
            CROSS JOIN LATERAL (SELECT CASE WHEN st.status = 'onboarding'
                THEN {end} - pg_temp.r(i, 1) * interval '2 days'
                ELSE {start} + power(pg_temp.r(i, 1), 1.6) * interval '365 days' END AS created) c
            CROSS JOIN LATERAL (SELECT CASE WHEN st.status = 'onboarding' THEN NULL
                ELSE c.created + (60 + 300 * pg_temp.r(i, 3)) * interval '1 second' END
                AS consent) k
            CROSS JOIN LATERAL (SELECT CASE WHEN st.status IN ('opted_out', 'erased')
                THEN k.consent + pg_temp.r(i, 4) * ({end} - k.consent) END AS left_at) lv
            CROSS JOIN LATERAL (SELECT CASE
                WHEN st.status = 'onboarding' AND pg_temp.r(i, 12) < 0.5 THEN NULL
                WHEN pg_temp.r(i, 5) < 0.25 THEN 'ay' ELSE 'es' END AS language) lang
            CROSS JOIN LATERAL (SELECT pg_temp.zslot(pg_temp.r(i, 7)) AS zone0,
                pg_temp.zslot(pg_temp.r(i, 9)) AS zone1) z
            CROSS JOIN LATERAL (SELECT st.status <> 'onboarding' AND pg_temp.r(i, 8) < 0.08
                AND z.zone1 <> z.zone0 AS moved) mv
            """
        )
        # Signed-up residents in the order they signed up: `ord` picks one who had signed up
        # by a given moment (a prefix), `zrn` the same within their zona of today.
        self.sql(
            """
            CREATE TEMP TABLE signed AS
            SELECT id, consent, created, left_at, zone0, zone_now, moved_at, chan, status,
                   language,
                   row_number() OVER (ORDER BY created, id) AS ord,
                   row_number() OVER (PARTITION BY zone_now ORDER BY created, id) AS zrn
            FROM plan_res WHERE consent IS NOT NULL
            """
        )
        self.sql("CREATE UNIQUE INDEX ON plan_res (id)")
        self.sql("CREATE UNIQUE INDEX ON signed (ord)")
        self.sql("CREATE UNIQUE INDEX ON signed (zone_now, zrn)")
        # ord and zrn count in sign-up order: who had signed up by a moment is a prefix.
        self.sql("CREATE INDEX ON signed (created, id)")
        self.sql("CREATE INDEX ON signed (zone_now, created, id)")
        self.sql("ANALYZE plan_res")
        self.sql("ANALYZE signed")
        self.signed = self.sql("SELECT count(*) FROM signed").scalar() or 0

    def inbound(self) -> None:
        """The year's texts, in time order: more of them as more residents sign up.

        The replies given are kept for the last 30 days only: they are read when Twilio
        repeats a MessageSid, minutes later, and storing a year of them would double the
        build's time on this table."""
        m, k = self.plan.texts, self.signed
        start, end = self.lit(self.start), self.lit(self.now)
        bodies_es = _sql_array(TEXTS_ES)
        bodies_ay = _sql_array(TEXTS_AY)
        replies = _sql_array([json.dumps([r], ensure_ascii=False) for r in REPLIES])
        onboarding = self.sql("SELECT count(*) FROM plan_res WHERE consent IS NULL").scalar() or 0
        general = max(m - 2 * onboarding, 0)
        # t grows like the number of residents (a prefix `share` of them signed up by then);
        # who writes is drawn among them, early adopters a little more often.
        self.sql(
            f"""
            INSERT INTO inbound_messages
                (id, sid, resident_id, channel, body, num_media, received_at, replies)
            SELECT g, 'SM' || lpad(to_hex(g), 32, '0'), s.id,
                   CASE WHEN pg_temp.r(g, 22) < 0.9 THEN s.chan
                        WHEN s.chan = 'sms' THEN 'whatsapp' ELSE 'sms' END,
                   CASE WHEN s.status = 'erased' THEN NULL
                        WHEN s.language = 'ay'
                        THEN {bodies_ay}[1 + floor(pg_temp.r(g, 24) * {len(TEXTS_AY)})::int]
                        ELSE {bodies_es}[1 + floor(pg_temp.r(g, 24) * {len(TEXTS_ES)})::int] END,
                   CASE WHEN s.chan = 'whatsapp' AND pg_temp.r(g, 25) < 0.01 THEN 1 ELSE 0 END,
                   CASE WHEN s.left_at IS NOT NULL AND t.at > s.left_at
                        THEN s.consent + pg_temp.r(g, 23) * (s.left_at - s.consent)
                        ELSE GREATEST(t.at, s.consent) END,
                   CASE WHEN s.status = 'erased' OR t.at < {end} - interval '30 days' THEN NULL
                        ELSE ({replies}[1 + floor(pg_temp.r(g, 26) * {len(REPLIES)})::int])::json
                   END
            FROM generate_series(1, {general}) g
            CROSS JOIN LATERAL (SELECT {start} + power(g::float8 / {general}, 0.615)
                * interval '365 days' AS at, power(g::float8 / {general}, 0.384) AS share) t
            JOIN signed s ON s.ord = 1 + floor(power(pg_temp.r(g, 20), 1.3) * t.share * {k})::bigint
            """
        )
        # Numbers still signing up: their greeting and language choice.
        self.sql(
            f"""
            INSERT INTO inbound_messages
                (id, sid, resident_id, channel, body, num_media, received_at, replies)
            SELECT {general} + row_number() OVER (ORDER BY p.created, p.id, j),
                   'SM' || lpad(to_hex({general} + row_number() OVER (ORDER BY p.created, p.id, j)),
                                32, '0'),
                   p.id, p.chan, CASE j WHEN 0 THEN 'Hola' ELSE '1' END, 0,
                   LEAST(p.created + j * interval '40 seconds', {end}), NULL
            FROM plan_res p CROSS JOIN generate_series(0, 1) j
            WHERE p.consent IS NULL
            """
        )
        self.sql(
            """
            CREATE TEMP TABLE last_seen AS
            SELECT resident_id AS id, max(received_at) AS last_at,
                   max(received_at) FILTER (WHERE channel = 'whatsapp') AS wa_at
            FROM inbound_messages GROUP BY resident_id
            """
        )
        self.sql("CREATE UNIQUE INDEX ON last_seen (id)")

    def residents(self) -> None:
        base = SYNTHETIC_PHONE_BASE
        self.sql(
            f"""
            INSERT INTO residents (id, phone, language, zone_id, status, topics, last_channel,
                synthetic, created_at, consent_at, opted_out_at, erased_at, last_inbound_at,
                whatsapp_last_inbound_at, number_invalid_at)
            SELECT p.id, CASE WHEN p.status = 'erased' THEN NULL ELSE '+' || ({base} + p.id) END,
                   p.language, p.zone_now, p.status, p.topics::json, p.chan, true, p.created,
                   p.consent, CASE WHEN p.status = 'opted_out' THEN p.left_at END,
                   CASE WHEN p.status = 'erased' THEN p.left_at END, l.last_at, l.wa_at,
                   p.invalid_at
            FROM plan_res p LEFT JOIN last_seen l ON l.id = p.id
            ORDER BY p.id
            """
        )
        self.sql(
            """
            INSERT INTO resident_zone_history (resident_id, zone_id, since)
            SELECT id, zone0, COALESCE(consent, created) FROM plan_res
            UNION ALL
            SELECT id, zone_now, moved_at FROM plan_res WHERE moved_at IS NOT NULL
            ORDER BY 3
            """
        )
        self.sql(
            """
            INSERT INTO conversations (resident_id, flow, step, slots, updated_at)
            SELECT p.id, NULL, NULL, '{}'::json, COALESCE(l.last_at, p.consent, p.created)
            FROM plan_res p LEFT JOIN last_seen l ON l.id = p.id
            WHERE p.status <> 'erased'
            ORDER BY p.id
            """
        )

    # -- staff -----------------------------------------------------------------------------

    def staff(self) -> None:
        zones = self.sql(
            "SELECT z.id, z.name, m.id, m.name FROM zones z"
            " JOIN macrodistricts m ON m.id = z.macrodistrict_id ORDER BY z.id"
        ).all()
        users: list[tuple[str, str, int | None, int | None]] = [
            (f"alcaldia@{STAFF_DOMAIN}", "municipality", None, None),
            (f"comunicacion@{STAFF_DOMAIN}", "municipality", None, None),
            (f"control@{STAFF_DOMAIN}", "viewer", None, None),
            (f"traduccion@{STAFF_DOMAIN}", "translator", None, None),
        ]
        seen: set[int] = set()
        for _, _, macro_id, macro in zones:
            if macro_id not in seen:
                seen.add(macro_id)
                users.append((f"sub.{_slug(macro)}@{STAFF_DOMAIN}", "subalcaldia", macro_id, None))
        for zone_id, zone, _, _ in zones:
            users.append((f"junta.{_slug(zone)}@{STAFF_DOMAIN}", "leader", None, zone_id))
        for email, role, macro_id, zone_id in users:
            self.sql(
                "INSERT INTO staff_users (email, role, macrodistrict_id, zone_id, password_hash,"
                " failed_logins, created_at) VALUES (:e, :r, :m, :z, :h, 0, :t)",
                e=email,
                r=role,
                m=macro_id,
                z=zone_id,
                h=self.password,
                t=self.start,
            )
        self.built.staff = [u[0] for u in users]
        self.staff_ids = dict(self.sql("SELECT email, id FROM staff_users").tuples().all())
        self.leader_of = {
            zid: uid
            for zid, uid in self.sql(
                "SELECT zone_id, id FROM staff_users WHERE role = 'leader'"
            ).tuples()
        }
        self.admin_id = self.staff_ids[f"alcaldia@{STAFF_DOMAIN}"]

    # -- reports ---------------------------------------------------------------------------

    def reports(self) -> None:
        r, k = self.plan.reports, self.signed
        start, end = self.lit(self.start), self.lit(self.now)
        cats = _weighted_slots(
            {c: w for c, w in zip(REPORT_CATEGORIES, CATEGORY_WEIGHTS, strict=True)}, 100
        )
        cat_array = _sql_array(cats)
        descriptions = _sql_array([d for c in REPORT_CATEGORIES for d in DESCRIPTIONS[c]])
        per = len(DESCRIPTIONS[REPORT_CATEGORIES[0]])
        cat_index = (
            "array_position(ARRAY["
            + ",".join(f"'{c}'" for c in REPORT_CATEGORIES)
            + "], c.category)"
        )
        alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
        # A report's code is its number through a bijection of 20 bits, written in the
        # report alphabet: unique, and looks like the codes the bot hands out.
        code = " || ".join(
            f"substr('{alphabet}',"
            f" 1 + ((((q::bigint * 797161) % 1048576) >> {shift}) & 31)::int, 1)"
            for shift in (15, 10, 5, 0)
        )
        self.sql(
            f"""
            CREATE TEMP TABLE plan_rep AS
            SELECT q AS id, 'R-' || {code} AS code, s.id AS resident_id,
                   CASE WHEN s.moved_at IS NOT NULL AND at.at >= s.moved_at THEN s.zone_now
                        ELSE s.zone0 END AS zone_id,
                   c.category, at.at AS created,
                   s.status AS reporter_status, p.chan,
                   pg_temp.r(q, 33) AS u_status, pg_temp.r(q, 34) AS u1, pg_temp.r(q, 35) AS u2,
                   {descriptions}[({cat_index} - 1) * {per} + 1
                                  + floor(pg_temp.r(q, 36) * {per})::int] AS description
            FROM generate_series(1, {r}) q
            CROSS JOIN LATERAL (SELECT {start} + power(q::float8 / {r}, 0.615)
                * interval '365 days' AS t0, power(q::float8 / {r}, 0.384) AS share) t
            JOIN signed s ON s.ord = 1 + floor(pg_temp.r(q, 30) * t.share * {k})::bigint
            JOIN plan_res p ON p.id = s.id
            CROSS JOIN LATERAL (SELECT CASE WHEN s.left_at IS NOT NULL AND t.t0 > s.left_at
                THEN s.consent + pg_temp.r(q, 31) * (s.left_at - s.consent)
                ELSE GREATEST(t.t0, s.consent) END AS at) at
            CROSS JOIN LATERAL (SELECT {cat_array}[1 + floor(pg_temp.r(q, 32) * 100)::int]
                AS category) c
            """
        )
        # Older reports are more often closed; a closed one went through "in progress" first
        # (most of them) and was resolved or, with a reason, rejected.
        self.sql(
            f"""
            CREATE TEMP TABLE plan_rep2 AS
            SELECT r.*, f.final, f.age,
                   CASE WHEN f.final = 'received' THEN NULL
                        WHEN f.final = 'rejected' AND r.u1 < 0.5 THEN NULL
                        ELSE r.created + f.age * (0.05 + 0.25 * r.u1) END AS progress_at,
                   CASE WHEN f.final IN ('resolved', 'rejected')
                        THEN r.created + f.age * (0.35 + 0.6 * r.u2) END AS closed_at
            FROM plan_rep r
            CROSS JOIN LATERAL (SELECT {end} - r.created AS age,
                CASE WHEN r.u_status < LEAST(0.92, extract(epoch FROM {end} - r.created)
                                                     / (86400 * 40.0))
                     THEN CASE WHEN r.u2 < 0.85 THEN 'resolved' ELSE 'rejected' END
                     WHEN r.u1 < 0.45 THEN 'received' ELSE 'in_progress' END AS final) f
            """
        )
        followup = "interval '7 days'"
        self.sql(
            f"""
            INSERT INTO reports (id, code, resident_id, zone_id, category, description, location,
                latitude, longitude, media_url, channel, status, status_note, created_at,
                updated_at, resolved_at, followup_due_at, followup_sent_at)
            SELECT id, code, resident_id, zone_id, category,
                   CASE WHEN reporter_status = 'erased' THEN NULL ELSE description END,
                   CASE WHEN reporter_status = 'erased' OR u1 < 0.3 THEN NULL
                        ELSE 'Calle ' || (1 + (id::bigint * 7919) % 40) || ', cerca del número '
                             || (100 + (id::bigint * 104729) % 900) END,
                   CASE WHEN chan = 'whatsapp' AND u2 < 0.3 AND reporter_status <> 'erased'
                        THEN -16.50 - 0.08 * u1 END,
                   CASE WHEN chan = 'whatsapp' AND u2 < 0.3 AND reporter_status <> 'erased'
                        THEN -68.15 + 0.06 * u2 END,
                   NULL, chan, final,
                   CASE final WHEN 'rejected' THEN 'Ya fue atendido en otro reporte de la zona.'
                              WHEN 'in_progress' THEN 'Una cuadrilla tiene el trabajo asignado.'
                              WHEN 'resolved' THEN 'Trabajo terminado.' END,
                   created, COALESCE(closed_at, progress_at, created),
                   CASE WHEN final = 'resolved' THEN closed_at END,
                   CASE WHEN final = 'resolved' THEN closed_at + {followup} END,
                   CASE WHEN final = 'resolved' AND closed_at + {followup} <= {end}
                        THEN closed_at + {followup} END
            FROM plan_rep2 ORDER BY id
            """
        )
        self.sql(
            """
            INSERT INTO report_events (report_id, status, note, source, created_at)
            SELECT report_id, status, note, source, at FROM (
                SELECT id AS report_id, 'received' AS status, NULL AS note, 'resident' AS source,
                       created AS at FROM plan_rep2
                UNION ALL
                SELECT id, 'in_progress', 'Una cuadrilla tiene el trabajo asignado.',
                       'municipality', progress_at FROM plan_rep2 WHERE progress_at IS NOT NULL
                UNION ALL
                SELECT id, final, CASE final WHEN 'rejected'
                           THEN 'Ya fue atendido en otro reporte de la zona.'
                           ELSE 'Trabajo terminado.' END,
                       'municipality', closed_at FROM plan_rep2 WHERE closed_at IS NOT NULL
            ) e ORDER BY at, report_id
            """
        )
        # "Me too": neighbours of the same zona (today) who had signed up by then.
        self.sql(
            """
            CREATE TEMP TABLE zone_sizes AS
            SELECT zone_now AS zone_id, count(*) AS n FROM signed GROUP BY zone_now
            """
        )
        self.sql(
            """
            INSERT INTO report_supporters (report_id, resident_id, created_at)
            SELECT r.id, s.id, r.created + pg_temp.r(r.id::bigint * 64 + j, 38) * LEAST(r.age,
                   interval '10 days')
            FROM plan_rep2 r
            CROSS JOIN LATERAL (SELECT CASE
                WHEN pg_temp.r(r.id, 37) < 0.55 THEN 0
                WHEN pg_temp.r(r.id, 37) < 0.75 THEN 1
                WHEN pg_temp.r(r.id, 37) < 0.95 THEN 2 + floor(pg_temp.r(r.id, 39) * 4)::int
                ELSE 6 + floor(pg_temp.r(r.id, 39) * 25)::int END AS n) c
            JOIN zone_sizes z ON z.zone_id = r.zone_id
            CROSS JOIN LATERAL generate_series(1, LEAST(c.n, z.n - 1)) j
            JOIN signed s ON s.zone_now = r.zone_id
                AND s.zrn = 1 + (floor(pg_temp.r(r.id, 40) * z.n)::bigint + j) % z.n
            WHERE s.id <> r.resident_id
            ORDER BY 3
            """
        )
        # What staff did to reports is in the audit log, as the console and the API write it.
        self._audit_reports()

    def _audit_reports(self) -> None:
        self.sql("CREATE INDEX ON plan_rep2 (id)")
        self.sql(
            f"""
            INSERT INTO audit_log (at, user_id, actor, via, action, target_type, target_id,
                before, after)
            SELECT e.at, u.id, u.email, CASE WHEN e.k % 10 = 0 THEN 'api' ELSE 'web' END,
                   'report.status', 'report', e.code,
                   json_build_object('status', e.before), json_build_object('status', e.after)
            FROM (
                SELECT id AS k, code, zone_id, progress_at AS at, 'received' AS before,
                       'in_progress' AS after FROM plan_rep2 WHERE progress_at IS NOT NULL
                UNION ALL
                SELECT id + {self.plan.reports}, code, zone_id, closed_at,
                       CASE WHEN progress_at IS NULL THEN 'received' ELSE 'in_progress' END,
                       final FROM plan_rep2 WHERE closed_at IS NOT NULL
            ) e
            JOIN staff_users u ON (e.k % 3 = 0 AND u.id = {self.admin_id})
                OR (e.k % 3 <> 0 AND u.role = 'leader' AND u.zone_id = e.zone_id)
            ORDER BY e.at
            """
        )

    # -- polls -----------------------------------------------------------------------------

    def polls(self) -> None:
        rng = random.Random(self.plan.seed * 7 + 1)
        count = self.plan.polls
        zone_ids = list(self.zone_weights)
        weights = [self.zone_weights[z] for z in zone_ids]
        citywide_every = 12
        polls = []
        for p in range(1, count + 1):
            created = self.start + YEAR * ((p / (count + 1)) ** 0.8)
            citywide = p % citywide_every == citywide_every // 2
            zone = None if citywide else rng.choices(zone_ids, weights)[0]
            question = POLLS[(p - 1) % len(POLLS)]
            closes = created + timedelta(days=7)
            polls.append((p, created, closes, citywide, zone, question))
        self.sql(
            "CREATE TEMP TABLE plan_poll (id int, created timestamptz, closes timestamptz,"
            " zone_id int, weight float8)"
        )
        for p, created, closes, citywide, zone, (q_es, q_ay, options) in polls:
            self.sql(
                "INSERT INTO polls (id, question_es, question_ay, created_at, closes_at, target,"
                " citywide, created_by) VALUES (:id, :qe, :qa, :c, :x, :t, :cw, NULL)",
                id=p,
                qe=q_es,
                qa=q_ay,
                c=created,
                x=closes,
                t="all" if citywide else f"zona:{self._zone_name(zone)}",
                cw=citywide,
            )
            if zone is not None:
                self.sql("INSERT INTO poll_zones (poll_id, zone_id) VALUES (:p, :z)", p=p, z=zone)
            for position, (label_es, label_ay) in enumerate(options, start=1):
                self.sql(
                    "INSERT INTO poll_options (id, poll_id, position, label_es, label_ay)"
                    " VALUES (:id, :p, :pos, :le, :la)",
                    id=(p - 1) * 3 + position,
                    p=p,
                    pos=position,
                    le=label_es,
                    la=label_ay,
                )
            weight = (30.0 if citywide else 1.0) * (0.5 + rng.random())
            self.sql(
                "INSERT INTO plan_poll VALUES (:p, :c, :x, :z, :w)",
                p=p,
                c=created,
                x=closes,
                z=zone if zone is not None else 0,
                w=weight,
            )
        self.polls_plan = polls
        total = self.plan.votes
        # Each poll's share of the votes, limited to the residents who could vote then (those
        # signed up by the time it opened, in its zona for a zona's poll).
        self.sql(
            f"""
            CREATE TEMP TABLE plan_poll2 AS
            SELECT p.*, e.eligible,
                   LEAST(e.eligible, round({total} * p.weight / sum(p.weight) OVER ())::bigint)
                     AS n,
                   floor(pg_temp.r(p.id, 50) * GREATEST(e.eligible, 1))::bigint AS off
            FROM plan_poll p
            CROSS JOIN LATERAL (SELECT COALESCE(CASE WHEN p.zone_id = 0
                THEN (SELECT s.ord FROM signed s WHERE s.created < p.created
                      ORDER BY s.created DESC, s.id DESC LIMIT 1)
                ELSE (SELECT s.zrn FROM signed s WHERE s.zone_now = p.zone_id
                      AND s.created < p.created ORDER BY s.created DESC, s.id DESC LIMIT 1)
                END, 0) AS eligible) e
            """
        )
        self._votes()

    def _votes(self) -> None:
        end = self.lit(self.now)
        # Two passes (city-wide polls by sign-up order, zona polls within the zona) keep each a
        # plain index join.
        for citywide in (True, False):
            join = (
                "s.ord = 1 + (p.off + k) % p.eligible"
                if citywide
                else "s.zone_now = p.zone_id AND s.zrn = 1 + (p.off + k) % p.eligible"
            )
            self.sql(
                f"""
                INSERT INTO votes (poll_id, resident_id, option_id, created_at, updated_at)
                SELECT p.id, s.id,
                       (p.id - 1) * 3 + 1
                         + floor(power(pg_temp.r(p.id::bigint * 4000000 + k, 51), 1.3) * 3)::int,
                       v.at, v.at
                FROM plan_poll2 p
                CROSS JOIN LATERAL generate_series(0, p.n - 1) k
                JOIN signed s ON {join}
                CROSS JOIN LATERAL (SELECT p.created + pg_temp.r(p.id::bigint * 4000000 + k, 52)
                    * (LEAST(p.closes, {end}) - p.created) AS at) v
                WHERE p.zone_id {"=" if citywide else "<>"} 0
                  AND (s.left_at IS NULL OR s.left_at > v.at)
                ORDER BY v.at
                """
            )

    def _zone_name(self, zone_id: int | None) -> str:
        if not hasattr(self, "_zone_names"):
            self._zone_names = dict(self.sql("SELECT id, name FROM zones").tuples().all())
        return str(self._zone_names.get(zone_id, ""))

    # -- broadcasts ------------------------------------------------------------------------

    def broadcasts(self) -> None:
        rng = random.Random(self.plan.seed * 7 + 2)
        count = self.plan.broadcasts
        zone_ids = list(self.zone_weights)
        weights = [self.zone_weights[z] for z in zone_ids]
        # Poll invitations for a fifth of the broadcasts (the polls' own target and moment),
        # a city-wide announcement every two months or so, and the rest a zona's notices.
        invited = self.polls_plan[:: max(1, len(self.polls_plan) // max(1, count // 5))]
        invited = invited[: count // 5]
        citywide_n = max(1, round(count / 50))
        plan: list[dict[str, Any]] = []
        for p, created, _, citywide, zone, (q_es, q_ay, _) in invited:
            plan.append(
                {
                    "kind": "poll",
                    "at": created + timedelta(minutes=5),
                    "zone": None if citywide else zone,
                    "es": q_es,
                    "ay": q_ay,
                    "poll": p,
                }
            )
        others = count - len(plan)
        for j in range(others):
            at = self.start + YEAR * (((j + 1) / (others + 1)) ** 0.8)
            citywide = j % max(1, others // citywide_n) == others // citywide_n // 2
            kind = rng.choices(("announcement", "notice", "news"), (0.45, 0.4, 0.15))[0]
            es, ay = BROADCASTS[j % len(BROADCASTS)]
            plan.append(
                {
                    "kind": kind,
                    "at": at,
                    "zone": None if citywide else rng.choices(zone_ids, weights)[0],
                    "es": es,
                    "ay": ay,
                    "poll": None,
                }
            )
        plan.sort(key=lambda b: b["at"])
        # The latest one is scheduled for the day after tomorrow (armed: its outbox row waits),
        # and one of the last weeks' was canceled half-way.
        plan[-1]["at"] = self.now - timedelta(hours=3)
        plan[-1]["send_at"] = self.now + timedelta(days=2)
        canceled = len(plan) - 3
        self.sql(
            "CREATE TEMP TABLE plan_bc (id int, at timestamptz, zone_id int, topic text,"
            " status text)"
        )
        for b, item in enumerate(plan, start=1):
            zone = item["zone"]
            status = "scheduled" if b == len(plan) else "canceled" if b == canceled else "done"
            staff = self.admin_id if zone is None else self.leader_of.get(zone, self.admin_id)
            self.sql(
                "INSERT INTO broadcasts (id, kind, text_es, text_ay, poll_id, created_by,"
                " leader_id, staff_user_id, urgent, send_at, status, recipients, created_at,"
                " prepared_at, finished_at, target, citywide) VALUES (:id, :k, :es, :ay, :p,"
                " NULL, NULL, :u, false, :send, :st, 0, :at, :prep, :fin, :t, :cw)",
                id=b,
                k=item["kind"],
                es=item["es"],
                ay=item["ay"],
                p=item["poll"],
                u=staff,
                send=item.get("send_at"),
                st=status,
                at=item["at"],
                prep=None if status == "scheduled" else item["at"] + timedelta(seconds=20),
                fin=None if status == "scheduled" else item["at"] + timedelta(hours=1),
                t="all" if zone is None else f"zona:{self._zone_name(zone)}",
                cw=zone is None,
            )
            if zone is not None:
                self.sql(
                    "INSERT INTO broadcast_zones (broadcast_id, zone_id) VALUES (:b, :z)",
                    b=b,
                    z=zone,
                )
            topic = {"announcement": "announcements", "notice": "announcements"}.get(
                item["kind"], item["kind"] + "s" if item["kind"] == "poll" else item["kind"]
            )
            self.sql(
                "INSERT INTO plan_bc VALUES (:b, :at, :z, :t, :s)",
                b=b,
                at=item["at"],
                z=zone if zone is not None else 0,
                t=topic,
                s=status,
            )
            self.sql(
                "INSERT INTO audit_log (at, user_id, actor, via, action, target_type, target_id,"
                " before, after) SELECT :at, id, email, 'web', 'broadcast.create', 'broadcast',"
                " :b, NULL, CAST(:after AS json) FROM staff_users WHERE id = :u",
                at=item["at"],
                u=staff,
                b=str(b),
                after=json.dumps(
                    {
                        "target": "all" if zone is None else self._zone_name(zone),
                        "kind": item["kind"],
                    }
                ),
            )
        last = len(plan)
        self.sql(
            "INSERT INTO outbox (job, args, not_before, created_at) VALUES"
            " ('prepare_broadcast', CAST(:a AS json), :nb, :at)",
            a=json.dumps([last]),
            nb=plan[-1]["send_at"],
            at=plan[-1]["at"],
        )
        # One delivery row per resident it went to, with the outcome Twilio reported.
        statuses = _sql_array(
            ["delivered"] * 80 + ["sent"] * 6 + ["undelivered"] * 4 + ["failed"] * 4 + ["read"] * 6
        )
        codes = _sql_array(["30003", "30005", "30006", "30007", "21211", "30008"])
        # City-wide and zona broadcasts apart: an OR in the join would pair every broadcast
        # with every resident.
        for citywide in (True, False):
            self.sql(
                f"""
                INSERT INTO deliveries (broadcast_id, resident_id, status, channel, twilio_sid,
                    error_code, attempts, segments, retry_at, claimed_at, claimed_by, resent,
                    sent_at, updated_at)
                SELECT b.id, s.id, d.status, s.chan,
                       CASE WHEN d.status <> 'canceled'
                            THEN 'SM' || lpad(to_hex(b.id), 6, '0') || lpad(to_hex(s.id), 26, '0')
                       END,
                       CASE WHEN d.status IN ('failed', 'undelivered')
                            THEN ({codes}[1 + floor(pg_temp.r(s.id::bigint * 1000 + b.id, 61)
                                                    * 6)::int])::int
                       END,
                       CASE WHEN d.status = 'canceled' THEN 0 ELSE 1 END,
                       CASE WHEN d.status = 'canceled' THEN NULL
                            WHEN p.language = 'ay' THEN 2 ELSE 1 END,
                       NULL, NULL, NULL, false,
                       CASE WHEN d.status <> 'canceled' THEN b.at + interval '30 seconds'
                            + pg_temp.r(s.id::bigint * 1000 + b.id, 62) * interval '50 minutes' END,
                       b.at + interval '1 hour'
                FROM plan_bc b
                JOIN signed s ON {"true" if citywide else "s.zone_now = b.zone_id"}
                JOIN plan_res p ON p.id = s.id
                CROSS JOIN LATERAL (SELECT CASE
                    WHEN b.status = 'canceled' AND pg_temp.r(s.id::bigint * 1000 + b.id, 60) < 0.6
                      THEN 'canceled'
                    ELSE {statuses}[1 + floor(pg_temp.r(s.id::bigint * 1000 + b.id, 63) * 100)::int]
                    END AS status) d
                WHERE b.status <> 'scheduled' AND s.consent < b.at
                  AND b.zone_id {"=" if citywide else "<>"} 0
                  AND (s.left_at IS NULL OR s.left_at > b.at)
                  AND (p.invalid_at IS NULL OR p.invalid_at > b.at)
                  AND p.topics LIKE '%"' || b.topic || '"%'
                  AND (s.moved_at IS NULL OR s.moved_at < b.at OR b.zone_id = 0)
                ORDER BY b.id, s.id
                """
            )

        self.sql(
            """
            UPDATE broadcasts b SET recipients = d.n
            FROM (SELECT broadcast_id, count(*) AS n FROM deliveries GROUP BY broadcast_id) d
            WHERE d.broadcast_id = b.id
            """
        )
        # The scheduled one's recipients as its preview counted them.
        self.sql(
            """
            UPDATE broadcasts b SET recipients = (SELECT count(*) FROM residents r
                WHERE r.status = 'active' AND r.number_invalid_at IS NULL
                  AND (b.citywide OR r.zone_id IN (SELECT zone_id FROM broadcast_zones z
                                                   WHERE z.broadcast_id = b.id)))
            WHERE b.status = 'scheduled'
            """
        )

    def news(self) -> None:
        count = max(10, self.plan.broadcasts // 3)
        zone_ids = list(self.zone_weights)
        rng = random.Random(self.plan.seed * 7 + 3)
        for n in range(1, count + 1):
            at = self.start + YEAR * (n / (count + 1))
            es, ay = NEWS[n % len(NEWS)]
            zone = None if n % 5 == 0 else rng.choice(zone_ids)
            self.sql(
                "INSERT INTO news (id, text_es, text_ay, created_at, target, citywide)"
                " VALUES (:id, :es, :ay, :at, :t, :cw)",
                id=n,
                es=es,
                ay=ay,
                at=at,
                t="all" if zone is None else f"zona:{self._zone_name(zone)}",
                cw=zone is None,
            )
            if zone is not None:
                self.sql("INSERT INTO news_zones (news_id, zone_id) VALUES (:n, :z)", n=n, z=zone)

    def count(self) -> None:
        for table in (
            "residents",
            "resident_zone_history",
            "inbound_messages",
            "reports",
            "report_events",
            "report_supporters",
            "polls",
            "votes",
            "broadcasts",
            "deliveries",
            "staff_users",
            "audit_log",
            "news",
        ):
            self.built.counts[table] = self.sql(f"SELECT count(*) FROM {table}").scalar() or 0  # noqa: S608


def _weighted_slots(weights: dict[Any, float], slots: int) -> list[Any]:
    """A lookup list where each key fills a share of the slots proportional to its weight."""
    total = sum(weights.values())
    out: list[Any] = []
    cumulative = 0.0
    for key, weight in weights.items():
        cumulative += weight
        upto = round(slots * cumulative / total)
        out += [key] * (upto - len(out))
    return out


def _sql_array(values: list[str]) -> str:
    quoted = ",".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"(ARRAY[{quoted}])"


def _slug(name: str) -> str:
    folded = name.lower()
    for a, b in (
        ("á", "a"),
        ("é", "e"),
        ("í", "i"),
        ("ó", "o"),
        ("ú", "u"),
        ("ñ", "n"),
        ("ü", "u"),
    ):
        folded = folded.replace(a, b)
    return "".join(ch if ch.isalnum() else "-" for ch in folded).strip("-")


CATEGORY_WEIGHTS = (25, 18, 20, 17, 10, 5, 5)
DESCRIPTIONS = {
    "agua": ["No hay agua desde ayer", "Cañería rota en la esquina", "El agua sale turbia"],
    "alumbrado": ["El poste de luz no funciona", "Calle sin alumbrado", "Foco quemado en la plaza"],
    "basura": ["No pasó el carro basurero", "Basural en la esquina", "Contenedor lleno"],
    "calles": ["Bache grande en la calzada", "Vereda rota", "Gradas en mal estado"],
    "seguridad": ["Pelea de noche en la esquina", "Robo de celular", "Lugar oscuro y peligroso"],
    "salud": ["Perros callejeros", "Posta cerrada", "Agua estancada con mosquitos"],
    "otro": ["Ruido de noche", "Muro a punto de caer", "Semáforo apagado"],
}
TEXTS_ES = ["1", "2", "3", "4", "5", "6", "menu", "Hola", "si", "no", "Gracias", "ayuda", "0"]
TEXTS_AY = ["1", "2", "3", "maya", "paya", "kimsa", "menu", "Kamisaki", "iyaw", "janiw", "0"]
REPLIES = [
    "Menu: 1 Reportar, 2 Encuestas, 3 Noticias, 4 Mis reportes, 5 Perfil, 6 Mi barrio, 0 Ayuda.",
    "¿Qué problema quiere reportar? 1 Agua, 2 Alumbrado, 3 Basura, 4 Calles y veredas",
    "Gracias, su voto quedó registrado.",
    "Sus reportes: R-2QNA Agua, en curso.",
]
POLLS = [
    (
        "¿Qué obra necesita más su zona?",
        "Kuna luräwis zonamar juk'amp munasi?",
        [("Agua", "Uma"), ("Alumbrado", "Alumbrado"), ("Calles", "Calles")],
    ),
    (
        "¿Está de acuerdo con la feria dominical en la plaza?",
        "Plazan domingo feria lurañax walikiti?",
        [("Sí", "Jisa"), ("No", "Janiw"), ("No sé", "Janiw yatkti")],
    ),
    (
        "¿A qué hora prefiere la reunión vecinal?",
        "Kuna horasa junta tantachäwi munta?",
        [("Mañana", "Alwa"), ("Tarde", "Jayp'u"), ("Noche", "Aruma")],
    ),
]
BROADCASTS = [
    (
        "Corte de agua el jueves de 8:00 a 14:00 por trabajos en la red.",
        "Jueves urunx 8:00 - 14:00 uma jark'atäniwa.",
    ),
    (
        "Campaña de vacunación canina este sábado en la plaza de su zona.",
        "Aka sábado plazan anunakatak vacuna.",
    ),
    ("Reunión vecinal el domingo a las 10:00 en la sede.", "Domingo 10:00 sedean tantachäwi."),
    ("El carro basurero pasará desde mañana a las 20:00.", "Qharurux 20:00 basurero carro jutani."),
]
NEWS = [
    ("Se inauguró el nuevo tramo de la avenida.", "Avenida machaq tramo inaugurasiwa."),
    ("Feria de salud gratuita el fin de semana.", "Semana tukuyan salud feria."),
    ("Nuevos horarios del PumaKatari.", "PumaKatari machaq horarionaka."),
]
