package dev.penstock.server.config;

import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.limit.TpmCharge;
import dev.penstock.core.retry.RetryPolicy;
import dev.penstock.server.tenant.Pricing;
import dev.penstock.server.tenant.Tenants;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The validated gateway configuration (SPEC 9). Immutable; a reload builds a new one.
 *
 * @param models public model name to its route, in file order
 * @param retry how failed attempts are retried ({@code retry:})
 * @param breaker when a deployment's circuit opens ({@code circuit_breaker:})
 * @param retryTimeouts whether an attempt that timed out after reaching its upstream is retried
 *     ({@code retry.on_timeout}; off by default: the upstream may still be generating, and a retry
 *     would be billed again)
 * @param observability metrics and logging ({@code metrics:}, {@code logging:})
 * @param tenancy virtual keys, storage and pricing ({@code auth:}, {@code storage:}, {@code
 *     pricing:}, {@code tenants:})
 * @param cache the response cache ({@code cache:}, and each model's {@code cache:})
 * @param embeddings the micro-batching of embedding requests ({@code embeddings:})
 * @param batches the Batch API's execution ({@code batches:})
 * @param rabbit the RabbitMQ ingress ({@code queues.rabbitmq:}); null when not configured
 * @param cluster cluster mode ({@code cluster:}, SPEC 13); null for a single instance
 * @param upstream how upstreams are reached: trust, proxy, HTTP/2 ({@code upstream:},
 *     docs/upstreams.md)
 */
public record GatewayConfig(
    String host,
    int port,
    Secret adminKey,
    Defaults defaults,
    Map<String, ModelConfig> models,
    RetryPolicy retry,
    boolean retryTimeouts,
    BreakerPolicy breaker,
    Observability observability,
    Tenancy tenancy,
    dev.penstock.server.cache.CacheSettings cache,
    Embeddings embeddings,
    Batches batches,
    @org.jspecify.annotations.Nullable Rabbit rabbit,
    @org.jspecify.annotations.Nullable Cluster cluster,
    UpstreamNetwork upstream) {

  public GatewayConfig {
    models = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(models));
  }

  /**
   * Gateway-wide settings, each overridable where it makes sense.
   *
   * @param timeoutMillis a request's deadline when it names none ({@code x-penstock-timeout-ms})
   * @param maxOutputTokens the output cap charged when a request sets none
   * @param maxQueued the most requests that may wait for capacity at once
   * @param pacingGuardMillis added to each 60 s window to absorb arrival jitter
   * @param firstByteTimeoutMillis how long an upstream may think before the first byte of its
   *     answer's body (a non-streamed reasoning answer is all thinking: the OpenAI SDKs allow 10
   *     minutes)
   * @param readTimeoutMillis how long an upstream may fall silent once its answer began
   * @param maxBodyBytes the largest request body accepted ({@code 413} above)
   * @param shutdownGraceMillis how long a stopping gateway lets requests in flight finish
   * @param clientWriteTimeoutMillis how long a write to a client that stopped reading may block
   *     before the client is taken for gone
   * @param maxAnswerBytes the largest non-streamed upstream answer read ({@code 502} above)
   * @param requestHeadTimeoutMillis how long a client may take to send a request's head ({@code
   *     408} after)
   * @param requestBodyTimeoutMillis how long it may take to send a request's body ({@code 408})
   * @param keepAliveTimeoutMillis how long an idle keep-alive connection is kept (needs a restart)
   * @param maxConnections the most client connections served at once, 0 = from the process's file
   *     descriptor limit (needs a restart)
   */
  public record Defaults(
      long timeoutMillis,
      int maxOutputTokens,
      int maxQueued,
      long pacingGuardMillis,
      long connectTimeoutMillis,
      long firstByteTimeoutMillis,
      long readTimeoutMillis,
      long maxBodyBytes,
      long shutdownGraceMillis,
      long clientWriteTimeoutMillis,
      long maxAnswerBytes,
      long requestHeadTimeoutMillis,
      long requestBodyTimeoutMillis,
      long keepAliveTimeoutMillis,
      int maxConnections) {
    public static final Defaults STANDARD =
        new Defaults(
            60_000,
            256,
            10_000,
            500,
            5_000,
            600_000,
            30_000,
            32L * 1024 * 1024,
            30_000,
            30_000,
            64L * 1024 * 1024,
            10_000,
            60_000,
            75_000,
            0);
  }

  /**
   * Penstock as a shared gateway (SPEC 8).
   *
   * @param auth when {@code /v1} requests need a virtual key
   * @param storagePath the embedded database ({@code storage.path}; relative paths are resolved
   *     against the config file's directory)
   * @param pricing USD per 1M tokens per model: the shipped table overridden by {@code pricing:}
   * @param metricsMaxKeys the most virtual key names used as metric label values; the rest are
   *     counted under {@code other}
   * @param postgresUrl {@code storage.postgres_url}: keys, ledger, batches and files in PostgreSQL
   *     ({@code postgresql://user:pass@host:port/db}, a secret: it may hold a password) instead of
   *     the embedded database; null for the embedded one
   */
  public record Tenancy(
      Tenants.Auth auth,
      Path storagePath,
      Pricing pricing,
      int metricsMaxKeys,
      @org.jspecify.annotations.Nullable Secret postgresUrl) {}

  /**
   * Cluster mode (SPEC 13, docs/cluster.md): instances with the same {@code name} share each
   * deployment's limits through leases from Redis.
   *
   * @param name the cluster's name; every Redis key carries it, so two clusters can share a Redis
   * @param redisUrl {@code redis://[:password@]host:port[/db]} (a secret: it may hold a password)
   * @param instances how many instances the cluster runs: while Redis cannot be reached, each
   *     instance uses 1/instances of every deployment's limits, so together they stay under them
   * @param leaseMillis how long a lease of capacity is valid (at most {@link #MAX_LEASE_MILLIS})
   */
  public record Cluster(String name, Secret redisUrl, int instances, long leaseMillis) {
    public static final long MAX_LEASE_MILLIS = 500;
    public static final long DEFAULT_LEASE_MILLIS = 500;
  }

  /**
   * How upstreams are reached ({@code upstream:}, docs/upstreams.md). Needs a restart to change.
   *
   * @param caFile a PEM file of CAs trusted in addition to the JDK's ({@code upstream.ca_file},
   *     relative to the config file's directory); null for the JDK's alone
   * @param proxy {@code upstream.proxy}: the proxy every upstream tunnels through ({@code
   *     http://user:pass@host:port}, a secret: it may hold a password); {@link #NO_PROXY} when it
   *     says {@code none}; null when not set: then {@code HTTPS_PROXY}/{@code HTTP_PROXY} of the
   *     environment
   * @param noProxy {@code upstream.no_proxy}: hosts that bypass the proxy (comma list of names or
   *     suffixes, {@code *} for all); null when not set: then {@code NO_PROXY} of the environment
   * @param http2 {@code upstream.http2}: {@code auto} speaks HTTP/2 to a TLS upstream that selects
   *     it by ALPN; {@code off} never
   */
  public record UpstreamNetwork(
      @org.jspecify.annotations.Nullable Path caFile,
      @org.jspecify.annotations.Nullable Secret proxy,
      @org.jspecify.annotations.Nullable String noProxy,
      boolean http2) {
    /** {@code proxy: none}: no proxy, whatever the environment says. */
    public static final Secret NO_PROXY = new Secret("none");

    /**
     * No extra CA, the environment's proxy, HTTP/1.1 (decision 0003: over TLS the pooled HTTP/1.1
     * client outran the JDK's HTTP/2 client at every load measured).
     */
    public static final UpstreamNetwork STANDARD = new UpstreamNetwork(null, null, null, false);
  }

  /**
   * Embedding micro-batching (SPEC 6, docs/embeddings.md): concurrent {@code /v1/embeddings}
   * requests for the same model and parameters arriving within the window are sent upstream as one.
   *
   * @param batchWindowMillis how long the first request of a batch waits for others: 20 ms by
   *     default (SPEC 6), 0 = off (a request alone waits up to the window for nothing), at most
   *     {@link #MAX_WINDOW_MILLIS}; a model may set its own ({@code embeddings_batch_window_ms})
   * @param maxBatchInputs the most inputs one merged request carries (OpenAI's limit is 2,048)
   */
  public record Embeddings(long batchWindowMillis, int maxBatchInputs) {
    /** The longest window: beyond it the wait costs more latency than a batch saves. */
    public static final long MAX_WINDOW_MILLIS = 100;

    /** OpenAI's limit of inputs per embeddings request. */
    public static final int MAX_INPUTS = 2048;

    /** SPEC 6's default window. */
    public static final long DEFAULT_WINDOW_MILLIS = 20;

    public static final Embeddings STANDARD = new Embeddings(DEFAULT_WINDOW_MILLIS, MAX_INPUTS);
  }

  /**
   * The Batch API (SPEC 7, docs/batches.md): how batches are accepted and executed.
   *
   * @param concurrency the most lines of one batch in flight at once; after a crash, at most this
   *     many lines per batch may be sent upstream a second time
   * @param maxConcurrency the most batch lines in flight over all batches
   * @param claimMillis how long a claimed line stays claimed without a result before any worker may
   *     take it again (longer than {@code lineTimeoutMillis})
   * @param lineTimeoutMillis one line's deadline per try, queue wait included; a line that could
   *     not start in it is tried again later, not failed
   * @param maxFileBytes the largest file accepted on {@code /v1/files} (OpenAI: 200 MB)
   * @param maxLines the most lines in one batch's input file (OpenAI: 50,000)
   */
  public record Batches(
      int concurrency,
      int maxConcurrency,
      long claimMillis,
      long lineTimeoutMillis,
      long maxFileBytes,
      int maxLines) {
    public static final long OPENAI_MAX_FILE_BYTES = 200L * 1024 * 1024;
    public static final int OPENAI_MAX_LINES = 50_000;
    public static final Batches STANDARD =
        new Batches(8, 32, 900_000, 600_000, OPENAI_MAX_FILE_BYTES, OPENAI_MAX_LINES);
  }

  /**
   * The RabbitMQ ingress (SPEC 7, docs/queues.md): OpenAI requests consumed from a queue and
   * answered on each message's {@code reply_to}.
   *
   * @param url the broker, {@code amqp://user:pass@host:port/vhost} (a secret: it holds a password)
   * @param queue the queue consumed; declared durable with {@code x-max-priority} if missing
   * @param maxPriority the queue's {@code x-max-priority} (1 to 255; message priorities above the
   *     middle third map to {@code high}, the lowest third to {@code low})
   * @param prefetch the most unacknowledged messages held at once (the upper bound; fewer while the
   *     pool has no spare capacity)
   * @param deadLetterExchange where permanent failures are rejected to
   * @param timeoutMillis one message's deadline in the gateway, queue wait included
   */
  public record Rabbit(
      Secret url,
      String queue,
      int maxPriority,
      int prefetch,
      String deadLetterExchange,
      long timeoutMillis) {}

  /**
   * A gray release: {@code percent} of a model's traffic goes to {@code model} instead, the same
   * callers always (sticky per virtual key, or per bearer token in open mode).
   */
  public record Canary(String model, double percent) {}

  /**
   * One public model.
   *
   * @param canary a share of its traffic sent to another model, or null
   * @param embeddingsBatchWindowMillis its own {@code embeddings.batch_window_ms} ({@code
   *     embeddings_batch_window_ms}), or -1 for the gateway's
   */
  public record ModelConfig(
      String name,
      List<String> fallbacks,
      List<DeploymentConfig> deployments,
      @org.jspecify.annotations.Nullable Canary canary,
      long embeddingsBatchWindowMillis) {
    public ModelConfig {
      fallbacks = List.copyOf(fallbacks);
      deployments = List.copyOf(deployments);
    }
  }

  /** How a deployment's requests are addressed and authenticated. */
  public enum Provider {
    /** {@code POST {base_url}/chat/completions}, {@code Authorization: Bearer}. */
    OPENAI,
    /**
     * {@code POST {base_url}/openai/deployments/{upstream_model}/chat/completions?api-version=...},
     * {@code api-key} header.
     */
    AZURE
  }

  /**
   * One upstream deployment: endpoint, credential, model and limits.
   *
   * @param healthCheckIntervalMillis how often an active health check asks the upstream's models
   *     list; 0 = no active checks (the circuit breaker still judges real requests)
   */
  public record DeploymentConfig(
      String name,
      Provider provider,
      URI baseUrl,
      Secret apiKey,
      String upstreamModel,
      long rpm,
      long tpm,
      int maxConcurrency,
      int priority,
      double weight,
      TpmCharge tpmCharge,
      String apiVersion,
      long connectTimeoutMillis,
      long firstByteTimeoutMillis,
      long readTimeoutMillis,
      long healthCheckIntervalMillis) {}
}
