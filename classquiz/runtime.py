"""The services of one running app, built from the settings and kept on the app.

`build_services` builds them in dependency order and hands each one everything
it needs in its constructor: nothing is assigned after construction, so no
service can be used half wired. Handlers reach them with `services(request)`;
nothing else is global.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from classquiz.config import Settings
from classquiz.game.autofinish import AutoFinishTimers
from classquiz.game.store import GameStore
from classquiz.search import SearchIndex, SearchIndexer, create_search_index
from classquiz.services.account import AccountService
from classquiz.services.account_deletion import AccountDeletion
from classquiz.services.account_tokens import AccountTokens
from classquiz.services.admission import Gate
from classquiz.services.api_keys import ApiKeys
from classquiz.services.captcha import CaptchaVerifier
from classquiz.services.delivery import Fanout, LocalPlayers, ResultDelivery
from classquiz.services.final_records import FinalRecords
from classquiz.services.flow import GameFlow
from classquiz.services.games import GameService
from classquiz.services.live import LiveGames
from classquiz.services.mail import Mailer, SmtpConfig
from classquiz.services.media import MediaLimits, MediaService
from classquiz.services.media_storage import create_media_storage
from classquiz.services.notifier import Notifier
from classquiz.services.oauth import OAuthSignIn
from classquiz.services.oauth_providers import ProviderClient
from classquiz.services.passkeys import PasskeyService
from classquiz.services.passwords import Passwords
from classquiz.services.placement import GamePlacement
from classquiz.services.quizzes import QuizService
from classquiz.services.ratelimit import FailureLimiter
from classquiz.services.results import ResultService
from classquiz.services.room import LiveRoom
from classquiz.services.tasks import KeptTasks
from classquiz.services.tokens import TokenSigner
from classquiz.services.totp import TotpService
from classquiz.services.users import UserService


@dataclass
class Services:
    settings: Settings
    redis: Redis
    signer: TokenSigner
    users: UserService
    oauth: OAuthSignIn
    passkeys: PasskeyService
    account: AccountService
    account_deletion: AccountDeletion
    quizzes: QuizService
    media: MediaService
    results: ResultService
    limiter: FailureLimiter
    login_limiter: FailureLimiter
    register_limiter: FailureLimiter
    sign_in_start_limiter: FailureLimiter  # anonymous sign-in starts, each kept in Redis
    games: GameService
    room: LiveRoom
    flow: GameFlow
    delivery: ResultDelivery
    tasks: KeptTasks
    search: SearchIndex
    search_indexer: SearchIndexer  # hears every quiz save (a listener of `quizzes`)
    captcha: CaptchaVerifier | None  # None: no captcha provider configured


SERVICES = web.AppKey("services", Services)


def build_services(
    settings: Settings,
    redis: Redis,
    notifier: Notifier,
    placement: GamePlacement | None = None,
) -> Services:
    """Every service of the app, speaking to clients through `notifier`; `placement`
    when several processes share the games (the Redis manager)."""
    signer = TokenSigner(settings.secret_key)
    search = create_search_index(settings)
    search_indexer = SearchIndexer(search)
    quizzes = QuizService(listeners=[search_indexer])
    store = GameStore(
        redis, settings.redis_prefix, settings.game_ttl_s, buckets=settings.redis_buckets
    )
    live = LiveGames(store, settings.quiz_cache_bytes)
    limiter = FailureLimiter(
        redis,
        settings.redis_prefix,
        settings.rate_limit_failures,
        settings.rate_limit_window_s,
        settings.rate_limit_block_s,
    )
    records = FinalRecords(store, live)
    results = ResultService(
        redis,
        settings.redis_prefix,
        signer,
        finished_record=records.of_finished,
        buckets=settings.redis_buckets,
        retention_days=settings.results_retention_days,
    )
    tasks = KeptTasks()
    local_players: LocalPlayers = {}
    delivery = ResultDelivery(store, live, local_players, notifier)
    fanout = Fanout(placement, delivery.deliver, tasks)
    timers = AutoFinishTimers(redis, settings.redis_prefix)
    flow = GameFlow(
        store,
        live,
        notifier,
        fanout,
        timers,
        tasks,
        auto_finish_after_last_reveal_s=settings.auto_finish_after_last_reveal_s,
    )
    captcha = captcha_verifier(settings)
    gate = Gate(
        store,
        live,
        signer,
        limiter,
        token_ttl_s=settings.game_token_expiry_s,
        max_players_per_game=settings.max_players_per_game,
        captcha=captcha,
    )
    room = LiveRoom(
        store,
        live,
        gate,
        flow,
        notifier,
        fanout,
        local_players,
        records,
        timers,
        tasks,
        result_sink=results.finish,
        auto_finish_without_host_s=settings.auto_finish_without_host_s,
        finished_ttl_s=settings.finished_game_ttl_s,
    )
    games = GameService(
        store,
        live,
        quizzes,
        signer,
        token_ttl_s=settings.game_token_expiry_s,
        public_url=settings.public_url,
        max_players_per_game=settings.max_players_per_game,
        max_live_games_per_user=settings.max_live_games_per_user,
        captcha=captcha,
    )
    passwords = Passwords(settings.password_hash_concurrency, settings.password_verify_concurrency)
    users = UserService(
        redis,
        signer,
        settings.redis_prefix,
        settings.token_expiry_s,
        passwords,
        TotpService(
            redis,
            settings.redis_prefix,
            settings.secret_key,
            FailureLimiter(
                redis,
                settings.redis_prefix,
                settings.totp_rate_limit_failures,
                settings.totp_rate_limit_window_s,
                settings.totp_rate_limit_window_s,
                scope="totp",
            ),
        ),
        ApiKeys(),
    )
    account = build_account(settings, redis, users, passwords, tasks)
    media = build_media(settings)
    return Services(
        settings=settings,
        redis=redis,
        signer=signer,
        users=users,
        account=account,
        account_deletion=AccountDeletion(account, store, room, media, quizzes, results),
        oauth=OAuthSignIn(redis, settings, ProviderClient()),
        passkeys=PasskeyService(
            redis,
            settings.redis_prefix,
            settings.public_url,
            settings.webauthn_rp_name,
            settings.passkey_challenge_ttl_s,
        ),
        quizzes=quizzes,
        media=media,
        results=results,
        limiter=limiter,
        login_limiter=FailureLimiter(
            redis,
            settings.redis_prefix,
            settings.login_rate_limit_failures,
            settings.rate_limit_window_s,
            settings.rate_limit_block_s,
            scope="login",
        ),
        register_limiter=FailureLimiter(
            redis,
            settings.redis_prefix,
            settings.register_rate_limit,
            settings.register_rate_limit_window_s,
            settings.register_rate_limit_window_s,
            scope="register",
        ),
        sign_in_start_limiter=FailureLimiter(
            redis,
            settings.redis_prefix,
            settings.sign_in_start_rate_limit,
            60,
            60,
            scope="signin",
        ),
        games=games,
        room=room,
        flow=flow,
        delivery=delivery,
        tasks=tasks,
        search=search,
        search_indexer=search_indexer,
        captcha=captcha,
    )


def captcha_verifier(settings: Settings) -> CaptchaVerifier | None:
    """The join captcha's verifier, when a provider is configured (the settings check
    that its keys are there)."""
    if settings.captcha_provider is None:
        return None
    return CaptchaVerifier(
        settings.captcha_provider,
        settings.captcha_secret or "",
        settings.captcha_site_key or "",
        verify_url=settings.captcha_verify_url,
        min_score=settings.captcha_min_score,
        timeout_s=settings.captcha_timeout_s,
        every_game=settings.captcha_every_game,
    )


def build_media(settings: Settings) -> MediaService:
    return MediaService(
        create_media_storage(settings),
        MediaLimits(
            max_upload_bytes=settings.media_max_upload_bytes,
            max_side_px=settings.media_max_side_px,
            max_decoded_pixels=settings.media_max_decoded_pixels,
            quota_count=settings.media_quota_count,
            quota_bytes=settings.media_quota_bytes,
            decode_concurrency=settings.media_decode_concurrency,
        ),
    )


def build_account(
    settings: Settings, redis: Redis, users: UserService, passwords: Passwords, tasks: KeptTasks
) -> AccountService:
    mailer = Mailer(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            sender=settings.smtp_from,
            timeout_s=settings.smtp_timeout_s,
        )
    )
    return AccountService(
        users,
        passwords,
        mailer,
        AccountTokens(),
        tasks,
        mail_limiter=FailureLimiter(
            redis,
            settings.redis_prefix,
            settings.mail_rate_limit,
            settings.mail_rate_limit_window_s,
            settings.mail_rate_limit_window_s,
            scope="mail",
        ),
        password_limiter=FailureLimiter(
            redis,
            settings.redis_prefix,
            settings.totp_rate_limit_failures,
            settings.totp_rate_limit_window_s,
            settings.totp_rate_limit_window_s,
            scope="password",
        ),
        public_url=settings.public_url,
        reset_expiry_s=settings.password_reset_expiry_s,
        verify_expiry_s=settings.email_verification_expiry_s,
    )


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
