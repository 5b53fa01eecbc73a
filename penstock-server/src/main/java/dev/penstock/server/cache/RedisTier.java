package dev.penstock.server.cache;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared tier on Redis, through Lettuce.
 *
 * <h2>Never a stall</h2>
 *
 * A request must not wait on Redis longer than {@code timeoutMillis}, and not at all while Redis is
 * known to be away:
 *
 * <ul>
 *   <li>The connection is made in the background; until it is up every call is a miss at once. A
 *       failed connect is tried again at most once a second, again in the background.
 *   <li>Commands to a connection that dropped are refused at once ({@code REJECT_COMMANDS}) while
 *       Lettuce reconnects by itself.
 *   <li>After a failure or a timeout, Redis is skipped for a second ({@code RETRY_NANOS}) — a slow
 *       Redis would otherwise cost every request its timeout.
 * </ul>
 *
 * Values are stored with a TTL ({@code SET ... PX}); stores do not wait for their reply. The URL
 * may hold a password: it is never logged, only its host.
 */
final class RedisTier implements SharedTier {
  private static final Logger LOG = LoggerFactory.getLogger(RedisTier.class);
  private static final long RETRY_NANOS = 1_000_000_000L;
  private static final RedisCodec<String, byte[]> CODEC =
      RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

  private final RedisClient client;
  private final RedisURI uri;
  private final long timeoutMillis;
  private final LongSupplier nanos;
  private final AtomicLong errors = new AtomicLong();

  /** The connection once made; guarded by {@code this} for the connect attempt only. */
  private volatile @Nullable StatefulRedisConnection<String, byte[]> connection;

  private @Nullable CompletableFuture<?> connecting;

  /** Redis is skipped until then (ticker nanos, compared by difference: they may wrap). */
  private volatile long skipUntilNanos;

  private volatile boolean healthy;

  RedisTier(String url, long timeoutMillis, LongSupplier nanos) {
    this.uri = RedisURI.create(url);
    this.timeoutMillis = timeoutMillis;
    this.nanos = nanos;
    this.skipUntilNanos = nanos.getAsLong();
    this.client = RedisClient.create();
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofMillis(1_000)).build())
            .timeoutOptions(TimeoutOptions.enabled(Duration.ofMillis(Math.max(timeoutMillis, 1))))
            .build());
    connectInBackground();
    awaitFirstConnection();
  }

  /**
   * Gives the first connection up to a second at start, so that the first requests already share
   * their answers; a Redis not there by then is connected to in the background.
   */
  private void awaitFirstConnection() {
    CompletableFuture<?> first;
    synchronized (this) {
      first = connecting;
    }
    if (first == null) {
      return;
    }
    try {
      first.get(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // logged by the connect attempt; the gateway starts without Redis
    }
  }

  /** The host and port of the Redis, for logs and the admin API (never its password). */
  String where() {
    return uri.getHost() + ":" + uri.getPort();
  }

  private synchronized void connectInBackground() {
    if (connecting != null && !connecting.isDone()) {
      return;
    }
    connecting =
        client
            .connectAsync(CODEC, uri)
            .toCompletableFuture()
            .whenComplete(
                (made, failure) -> {
                  if (made != null) {
                    connection = made;
                    healthy = true;
                    LOG.info("cache: connected to Redis at {}", where());
                  } else {
                    failed();
                    LOG.warn(
                        "cache: Redis at {} is unreachable ({}); answers are cached in this"
                            + " process only until it is back",
                        where(),
                        failure == null ? "?" : rootMessage(failure));
                  }
                });
  }

  /** The connection to use now, or null: not up yet, or skipped after a recent failure. */
  private @Nullable StatefulRedisConnection<String, byte[]> usable() {
    StatefulRedisConnection<String, byte[]> c = connection;
    if (nanos.getAsLong() - skipUntilNanos < 0) {
      return null;
    }
    if (c == null) {
      skipUntilNanos = nanos.getAsLong() + RETRY_NANOS;
      connectInBackground();
      return null;
    }
    return c.isOpen() ? c : null;
  }

  @Override
  public byte @Nullable [] get(String key) {
    StatefulRedisConnection<String, byte[]> c = usable();
    if (c == null) {
      return null;
    }
    try {
      byte[] value = c.async().get(key).get(timeoutMillis, TimeUnit.MILLISECONDS);
      healthy = true;
      return value;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      failed();
      LOG.debug("cache: Redis lookup failed: {}", rootMessage(e));
      return null;
    }
  }

  @Override
  public void put(String key, byte[] value, Duration ttl) {
    StatefulRedisConnection<String, byte[]> c = usable();
    if (c == null) {
      return;
    }
    try {
      c.async()
          .set(key, value, SetArgs.Builder.px(Math.max(1, ttl.toMillis())))
          .whenComplete(
              (ok, failure) -> {
                if (failure != null) {
                  failed();
                }
              });
    } catch (RuntimeException e) {
      failed();
    }
  }

  @Override
  public long delete(String pattern) {
    StatefulRedisConnection<String, byte[]> c = connection;
    if (c == null || !c.isOpen()) {
      return 0;
    }
    long deleted = 0;
    try {
      ScanCursor cursor = ScanCursor.INITIAL;
      ScanArgs args = ScanArgs.Builder.matches(pattern).limit(500);
      do {
        KeyScanCursor<String> page =
            c.async().scan(cursor, args).get(Math.max(timeoutMillis, 1_000), TimeUnit.MILLISECONDS);
        if (!page.getKeys().isEmpty()) {
          deleted +=
              c.async()
                  .unlink(page.getKeys().toArray(String[]::new))
                  .get(Math.max(timeoutMillis, 1_000), TimeUnit.MILLISECONDS);
        }
        cursor = page;
      } while (!cursor.isFinished());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      failed();
      LOG.warn("cache: deleting from Redis failed: {}", rootMessage(e));
    }
    return deleted;
  }

  private void failed() {
    errors.incrementAndGet();
    healthy = false;
    skipUntilNanos = nanos.getAsLong() + RETRY_NANOS;
  }

  @Override
  public boolean healthy() {
    return healthy;
  }

  @Override
  public long errors() {
    return errors.get();
  }

  @Override
  public void close() {
    StatefulRedisConnection<String, byte[]> c = connection;
    if (c != null) {
      c.close();
    }
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }

  /** A failure's innermost message, which names the problem without the URL's password. */
  private static String rootMessage(Throwable failure) {
    Throwable t = failure;
    for (int depth = 0; t.getCause() != null && depth < 16; depth++) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName();
  }
}
