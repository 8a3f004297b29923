"""Connecting to Redis: one server (`redis://`, `rediss://`, `unix://`) or a Redis
Cluster (`redis+cluster://host:port`, `rediss+cluster://…`: any node; the client
learns the others from it).

On a cluster the live state is spread by hash slot (keys.py explains the layout),
while pub/sub stays classic: a PUBLISH on any node reaches subscribers on every
node, so subscribers use a plain connection to the node named in the URL.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in CLUSTER_SCHEMES


def node_url(url: str) -> str:
    """A plain URL of the (first) node a cluster URL names; other URLs as they are."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in CLUSTER_SCHEMES:
        return url
    netloc = parts.netloc.split(",", 1)[0]
    return urlunsplit(parts._replace(scheme=CLUSTER_SCHEMES[scheme], netloc=netloc))


def connect_redis(url: str, **options: Any) -> Redis:
    """The client of the live state.

    A cluster client is handed out as `Redis`: every command, script and pipeline the
    server uses exists on both with the same signature (tests/test_scale_cluster.py
    plays whole games on a real cluster), and the one thing missing on the cluster
    client, pub/sub, goes through `subscriber_redis`.
    """
    if is_cluster_url(url):
        # The cluster client takes the same timeouts and retry policy (not the health
        # check: it checks its nodes itself).
        options.pop("health_check_interval", None)
        return cast(Redis, RedisCluster.from_url(node_url(url), **options))
    client: Redis = Redis.from_url(url, **options)
    return client


def subscriber_redis(url: str) -> Redis:
    """A plain connection for pub/sub (on a cluster, to the node the URL names)."""
    client: Redis = Redis.from_url(node_url(url))
    return client
