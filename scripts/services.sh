#!/usr/bin/env bash
# Starts the local services the tests use when one is not answering (CI runs on a machine where
# they were started before the session, but may find one stopped). Redis: the shared cache tier's
# and cluster mode's tests; each test uses its own key prefix or cluster name.
set -euo pipefail

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }

if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "services: starting Redis on 127.0.0.1:6379"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  fi
  redis_up || { echo "services: Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }
fi
echo "services: Redis answers on 127.0.0.1:6379"

# RabbitMQ: the queue ingress's tests (RabbitIngressTest); each test declares its own queues.
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! rabbit_up; then
  if command -v rabbitmq-server >/dev/null; then
    echo "services: starting RabbitMQ on 127.0.0.1:5672"
    rabbitmq-server -detached
    for _ in $(seq 1 300); do rabbit_up && break; sleep 0.2; done
  fi
  rabbit_up || { echo "services: RabbitMQ is not answering on 127.0.0.1:5672" >&2; exit 1; }
fi
echo "services: RabbitMQ answers on 127.0.0.1:5672"

# PostgreSQL: cluster mode's shared storage (storage.postgres_url); each test creates and drops
# its own database.
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -1)
    echo "services: starting PostgreSQL $version on 127.0.0.1:5432"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 100); do pg_up && break; sleep 0.1; done
  fi
  pg_up || { echo "services: PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
fi
echo "services: PostgreSQL answers on 127.0.0.1:5432"
