#!/usr/bin/env bash
# Starts the local services the tests use when one is not answering (CI runs on a machine where
# they were started before the session, but may find one stopped). Redis: the shared cache tier's
# tests (RedisCacheEndToEndTest); each test uses its own key prefix.
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
