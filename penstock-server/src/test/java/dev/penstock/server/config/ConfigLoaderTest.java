package dev.penstock.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.limit.TpmCharge;
import dev.penstock.core.retry.RetryPolicy;
import dev.penstock.server.config.GatewayConfig.DeploymentConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
  private final ConfigLoader loader =
      new ConfigLoader(Map.of("OPENAI_KEY_A", "sk-real-a", "RELAY_KEY", "sk-relay")::get);

  private static final String SPEC_EXAMPLE =
      """
      listen: 127.0.0.1:8080
      admin_key: ${PENSTOCK_ADMIN_KEY:-}

      models:
        gpt-5:                          # the public model name clients send
          fallbacks: [gpt-5-mini]       # optional
          deployments:
            - name: org-a
              base_url: https://api.openai.com/v1
              api_key: ${OPENAI_KEY_A}
              upstream_model: gpt-5     # defaults to the public name
              rpm: 200
              tpm: 40000
            - name: relay
              provider: openai          # openai (default) | azure
              base_url: https://relay.example.com/v1
              api_key: ${RELAY_KEY}
              rpm: 1200
              tpm: 400000
              priority: 1               # used when priority-0 deployments are full or unhealthy
              weight: 1                 # share among deployments of the same priority
        gpt-5-mini:
          deployments:
            - name: mini
              base_url: https://api.openai.com/v1/
              api_key: ${OPENAI_KEY_A}
              rpm: 500
              tpm: 200_000
              tpm_charge: usage
      """;

  @Test
  void readsTheSpecExampleWithEnvironmentSubstitution() {
    GatewayConfig config = loader.parse(SPEC_EXAMPLE, "penstock.yaml");
    assertThat(config.host()).isEqualTo("127.0.0.1");
    assertThat(config.port()).isEqualTo(8080);
    assertThat(config.adminKey().isEmpty()).isTrue();
    assertThat(config.models()).containsOnlyKeys("gpt-5", "gpt-5-mini");
    assertThat(config.models().get("gpt-5").fallbacks()).containsExactly("gpt-5-mini");
    DeploymentConfig orgA = config.models().get("gpt-5").deployments().get(0);
    assertThat(orgA.apiKey().reveal()).isEqualTo("sk-real-a");
    assertThat(orgA.rpm()).isEqualTo(200);
    assertThat(orgA.upstreamModel()).isEqualTo("gpt-5");
    assertThat(orgA.connectTimeoutMillis()).isEqualTo(5000);
    assertThat(orgA.readTimeoutMillis()).isEqualTo(30_000);
    DeploymentConfig relay = config.models().get("gpt-5").deployments().get(1);
    assertThat(relay.priority()).isEqualTo(1);
    DeploymentConfig mini = config.models().get("gpt-5-mini").deployments().get(0);
    assertThat(mini.baseUrl().toString()).isEqualTo("https://api.openai.com/v1");
    assertThat(mini.tpm()).isEqualTo(200_000);
    assertThat(mini.tpmCharge()).isEqualTo(TpmCharge.USAGE);
    assertThat(mini.upstreamModel()).isEqualTo("gpt-5-mini");
  }

  @Test
  void secretsNeverPrint() {
    GatewayConfig config = loader.parse(SPEC_EXAMPLE, "penstock.yaml");
    assertThat(config.toString()).doesNotContain("sk-real-a").doesNotContain("sk-relay");
  }

  @Test
  void everyProblemIsReportedWithItsFieldPathAndLine() {
    String bad =
        """
        listen: 0.0.0.0:8080
        models:
          gpt-5:
            fallbacks: [nowhere]
            deployments:
              - name: a
                base_url: ftp://example.com
                api_key: ${MISSING_KEY}
                rpm: -5
                tpm: lots
                rmp: 3
              - name: a
                provider: azure
                base_url: https://x.openai.azure.com
                api_key: k
                rpm: 1
                tpm: 1
        """;
    assertThatThrownBy(() -> loader.parse(bad, "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e ->
                assertThat(((ConfigException) e).problems())
                    .contains(
                        "listen (line 1): a gateway that may run in open mode (no virtual keys) listens on loopback"
                            + " only; use 127.0.0.1 or ::1, or set 'auth: required' to serve other hosts",
                        "models.gpt-5.deployments[0].rmp (line 11): unknown field; known: api_key, api_version, base_url, connect_timeout_ms, first_byte_timeout_ms, health_check_interval_ms, max_concurrency, name, priority, provider, read_timeout_ms, rpm, tpm, tpm_charge, upstream_model, weight",
                        "models.gpt-5.deployments[0].base_url (line 7): must be an http(s) URL such as https://api.openai.com/v1",
                        "models.gpt-5.deployments[0].api_key (line 8): environment variable MISSING_KEY is not set (and no ${MISSING_KEY:-default} is given)",
                        "models.gpt-5.deployments[0].api_key (line 8): is empty (is its environment variable set?)",
                        "models.gpt-5.deployments[0].rpm (line 9): must be a whole number from 1 to 1000000000, got '-5'",
                        "models.gpt-5.deployments[0].tpm (line 10): must be a whole number from 1 to 100000000000, got 'lots'",
                        "models.gpt-5.deployments[1].api_version (line 12): is required for provider azure (e.g. 2024-10-21)",
                        "models.gpt-5.deployments[1].name (line 12): 'a' is already used; deployment names must be unique",
                        "models.gpt-5.fallbacks (line 4): 'nowhere' is not another model of this file"));
  }

  @Test
  void retriesAndCircuitBreakersAreConfigurable() {
    GatewayConfig defaults = loader.parse(SPEC_EXAMPLE, "penstock.yaml");
    assertThat(defaults.retry()).isEqualTo(RetryPolicy.DEFAULT);
    assertThat(defaults.breaker()).isEqualTo(BreakerPolicy.DEFAULT);
    GatewayConfig tuned =
        loader.parse(
            SPEC_EXAMPLE
                + """
                retry: {attempts: 5, backoff_base_ms: 200, backoff_cap_ms: 10000}
                circuit_breaker:
                  consecutive_failures: 3
                  error_rate: 0.25
                  min_requests: 40
                  window_ms: 20000
                  open_ms: 2000
                  max_open_ms: 30000
                """,
            "penstock.yaml");
    assertThat(tuned.retry()).isEqualTo(new RetryPolicy(5, 200_000_000L, 10_000_000_000L));
    assertThat(tuned.breaker())
        .isEqualTo(
            new BreakerPolicy(3, 0.25, 40, 20_000_000_000L, 2_000_000_000L, 30_000_000_000L));
  }

  @Test
  void embeddingBatchingHasSpecSixsWindowUnlessSetAndAModelMaySetItsOwn() {
    GatewayConfig defaults = loader.parse(SPEC_EXAMPLE, "penstock.yaml");
    assertThat(defaults.embeddings()).isEqualTo(GatewayConfig.Embeddings.STANDARD);
    assertThat(defaults.embeddings().batchWindowMillis()).isEqualTo(20);
    assertThat(defaults.embeddings().maxBatchInputs()).isEqualTo(2048);
    assertThat(defaults.models().get("gpt-5").embeddingsBatchWindowMillis()).isEqualTo(-1);

    GatewayConfig tuned =
        loader.parse(
            SPEC_EXAMPLE.replace(
                    "  gpt-5-mini:\n", "  gpt-5-mini:\n    embeddings_batch_window_ms: 0\n")
                + "embeddings: {batch_window_ms: 35, max_batch_inputs: 512}\n",
            "penstock.yaml");
    assertThat(tuned.embeddings()).isEqualTo(new GatewayConfig.Embeddings(35, 512));
    assertThat(tuned.models().get("gpt-5-mini").embeddingsBatchWindowMillis()).isZero();
  }

  @Test
  void batchesHaveOpenAisLimitsUnlessSetAndTheQueueIngressIsOffUnlessConfigured() {
    GatewayConfig defaults = loader.parse(SPEC_EXAMPLE, "penstock.yaml");
    assertThat(defaults.batches()).isEqualTo(GatewayConfig.Batches.STANDARD);
    assertThat(defaults.batches().maxLines()).isEqualTo(50_000);
    assertThat(defaults.batches().maxFileBytes()).isEqualTo(200L * 1024 * 1024);
    assertThat(defaults.rabbit()).isNull();

    GatewayConfig tuned =
        loader.parse(
            SPEC_EXAMPLE
                + "batches: {concurrency: 4, max_concurrency: 12, line_timeout_ms: 30000,"
                + " claim_ms: 60000, max_file_bytes: 1048576, max_lines: 100}\n"
                + "queues:\n"
                + "  rabbitmq: {url: 'amqp://guest:guest@127.0.0.1:5672/', queue: work,"
                + " prefetch: 8}\n",
            "penstock.yaml");
    assertThat(tuned.batches())
        .isEqualTo(new GatewayConfig.Batches(4, 12, 60_000, 30_000, 1_048_576, 100));
    GatewayConfig.Rabbit rabbit = tuned.rabbit();
    assertThat(rabbit).isNotNull();
    assertThat(rabbit.url().reveal()).isEqualTo("amqp://guest:guest@127.0.0.1:5672/");
    assertThat(rabbit.url().toString()).doesNotContain("guest");
    assertThat(rabbit.queue()).isEqualTo("work");
    assertThat(rabbit.deadLetterExchange()).isEqualTo("work.dead");
    assertThat(rabbit.maxPriority()).isEqualTo(10);
    assertThat(rabbit.prefetch()).isEqualTo(8);
  }

  @Test
  void badBatchAndQueueSettingsAreReportedWithTheirPathsAndNeverEchoTheBrokerUrl() {
    String bad =
        SPEC_EXAMPLE
            + "batches: {concurrency: 0, max_lines: 50001, line_timeout_ms: 60000, claim_ms: 5000,"
            + " workers: 3}\n"
            + "queues:\n"
            + "  rabbitmq: {url: 'http://user:hunter2@broker/', max_priority: 300}\n";
    assertThatThrownBy(() -> loader.parse(bad, "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e -> {
              List<String> problems = ((ConfigException) e).problems();
              assertThat(problems)
                  .anyMatch(p -> p.startsWith("batches.concurrency (line 30): must be a whole"))
                  .anyMatch(p -> p.startsWith("batches.max_lines (line 30): must be a whole"))
                  .anyMatch(p -> p.startsWith("batches.claim_ms (line 30): must be longer than"))
                  .anyMatch(p -> p.startsWith("batches.workers (line 30): unknown field"))
                  .anyMatch(
                      p ->
                          p.startsWith(
                              "queues.rabbitmq.url (line 32): must be an amqp:// or amqps:// URL"))
                  .anyMatch(p -> p.startsWith("queues.rabbitmq.queue (line 32): is required"))
                  .anyMatch(p -> p.startsWith("queues.rabbitmq.max_priority (line 32): must be"));
              assertThat(String.join("\n", problems)).doesNotContain("hunter2");
            });
  }

  @Test
  void clusterModeAndSharedStorageAreReadAndTheirUrlsKeptSecret() {
    GatewayConfig single = loader.parse(SPEC_EXAMPLE, "penstock.yaml");
    assertThat(single.cluster()).isNull();
    assertThat(single.tenancy().postgresUrl()).isNull();

    GatewayConfig cluster =
        loader.parse(
            SPEC_EXAMPLE
                + "cluster: {name: prod, redis_url: 'redis://:s3cret@10.0.0.5:6379/2',"
                + " instances: 3, lease_ms: 250}\n"
                + "storage: {postgres_url: 'postgresql://pen:pw@db:5432/penstock'}\n",
            "penstock.yaml");
    GatewayConfig.Cluster settings = cluster.cluster();
    assertThat(settings).isNotNull();
    assertThat(settings.name()).isEqualTo("prod");
    assertThat(settings.instances()).isEqualTo(3);
    assertThat(settings.leaseMillis()).isEqualTo(250);
    assertThat(settings.redisUrl().reveal()).isEqualTo("redis://:s3cret@10.0.0.5:6379/2");
    assertThat(settings.toString()).doesNotContain("s3cret");
    Secret postgres = cluster.tenancy().postgresUrl();
    assertThat(postgres).isNotNull();
    assertThat(postgres.reveal()).isEqualTo("postgresql://pen:pw@db:5432/penstock");
    assertThat(cluster.tenancy().toString()).doesNotContain("pw@");
  }

  @Test
  void badClusterSettingsAreReportedWithTheirPathsAndNeverEchoTheUrls() {
    String bad =
        SPEC_EXAMPLE
            + "cluster: {name: 'two words', redis_url: 'http://:hunter2@redis/', lease_ms: 900}\n"
            + "storage: {postgres_url: 'mysql://u:hunter3@db/x'}\n";
    assertThatThrownBy(() -> loader.parse(bad, "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e -> {
              List<String> problems = ((ConfigException) e).problems();
              assertThat(problems)
                  .anyMatch(p -> p.startsWith("cluster.name (line 30): must be 1 to 64"))
                  .anyMatch(p -> p.startsWith("cluster.redis_url (line 30): must be a redis://"))
                  .anyMatch(p -> p.startsWith("cluster.instances (line 30): is required"))
                  .anyMatch(p -> p.startsWith("cluster.lease_ms (line 30): must be"))
                  .anyMatch(
                      p -> p.startsWith("storage.postgres_url (line 31): must be a postgresql://"));
              assertThat(String.join("\n", problems))
                  .doesNotContain("hunter2")
                  .doesNotContain("hunter3");
            });
  }

  @Test
  void badEmbeddingBatchingSettingsAreReportedWithTheirPaths() {
    String bad =
        SPEC_EXAMPLE.replace(
                "  gpt-5-mini:\n", "  gpt-5-mini:\n    embeddings_batch_window_ms: 250\n")
            + "embeddings: {batch_window_ms: 101, max_batch_inputs: 4096, window: 5}\n";
    assertThatThrownBy(() -> loader.parse(bad, "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e ->
                assertThat(((ConfigException) e).problems())
                    .anyMatch(
                        p ->
                            p.equals(
                                "embeddings.batch_window_ms (line 31): must be a whole number"
                                    + " from 0 to 100, got '101'"))
                    .anyMatch(
                        p ->
                            p.startsWith(
                                "embeddings.max_batch_inputs (line 31): must be a whole number"
                                    + " from 1 to 2048"))
                    .anyMatch(p -> p.startsWith("embeddings.window (line 31): unknown field"))
                    .anyMatch(
                        p ->
                            p.startsWith(
                                "models.gpt-5-mini.embeddings_batch_window_ms (line 23): must be"
                                    + " a whole number from 0 to 100")));
  }

  @Test
  void badRetryAndBreakerSettingsAreReportedWithTheirPaths() {
    String bad =
        SPEC_EXAMPLE
            + """
            retry: {attempts: 0, backoff_base_ms: 5000, backoff_cap_ms: 100, jitter: full}
            circuit_breaker: {error_rate: 1.5, open_ms: 9000, max_open_ms: 10}
            """;
    assertThatThrownBy(() -> loader.parse(bad, "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e ->
                assertThat(((ConfigException) e).problems())
                    .anyMatch(p -> p.startsWith("retry.attempts (line 30): must be a whole number"))
                    .anyMatch(p -> p.startsWith("retry.jitter (line 30): unknown field"))
                    .anyMatch(
                        p ->
                            p.equals(
                                "retry.backoff_cap_ms (line 30): must be at least backoff_base_ms"))
                    .anyMatch(p -> p.startsWith("circuit_breaker.error_rate (line 31): must be"))
                    .anyMatch(
                        p ->
                            p.equals(
                                "circuit_breaker.max_open_ms (line 31): must be at least open_ms")));
  }

  @Test
  void metricsAndLoggingAreConfigurable() {
    assertThat(loader.parse(SPEC_EXAMPLE, "penstock.yaml").observability())
        .isEqualTo(Observability.STANDARD);
    GatewayConfig quiet =
        loader.parse(
            SPEC_EXAMPLE
                + """
                metrics: {enabled: false}
                logging: {format: json, access_log: false, log_bodies: true}
                """,
            "penstock.yaml");
    assertThat(quiet.observability())
        .isEqualTo(new Observability(false, Observability.LogFormat.JSON, false, true));
  }

  @Test
  void badMetricsAndLoggingSettingsAreReportedWithTheirPaths() {
    String bad =
        SPEC_EXAMPLE
            + """
            metrics: {enabled: yes please}
            logging: {format: xml, access_log: 1, colour: true}
            """;
    assertThatThrownBy(() -> loader.parse(bad, "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e ->
                assertThat(((ConfigException) e).problems())
                    .contains(
                        "metrics.enabled (line 30): must be true or false",
                        "logging.format (line 31): must be auto, plain or json",
                        "logging.access_log (line 31): must be true or false")
                    .anyMatch(p -> p.startsWith("logging.colour (line 31): unknown field")));
  }

  @Test
  void brokenYamlNamesTheLine() {
    assertThatThrownBy(() -> loader.parse("models:\n  a: [1, 2\n", "x.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("line 3");
    assertThatThrownBy(() -> loader.parse("", "empty.yaml")).hasMessageContaining("empty");
    assertThatThrownBy(() -> loader.parse("models: {}\nmodels: {}\n", "dup.yaml"))
        .hasMessageContaining("models (line 2): appears twice");
  }

  @Test
  void aDefaultAppliesWhenTheVariableIsUnset() {
    GatewayConfig config =
        loader.parse(
            """
            models:
              m:
                deployments:
                  - {name: d, base_url: "${BASE:-http://127.0.0.1:9000/v1}", api_key: "${K:-sk-x}", rpm: 1, tpm: 1}
            defaults:
              timeout_ms: 1500
            """,
            "x.yaml");
    DeploymentConfig d = config.models().get("m").deployments().getFirst();
    assertThat(d.baseUrl().toString()).isEqualTo("http://127.0.0.1:9000/v1");
    assertThat(d.apiKey().reveal()).isEqualTo("sk-x");
    assertThat(config.defaults().timeoutMillis()).isEqualTo(1500);
  }

  /** YAML lets a later key replace an earlier one: a model named twice once vanished silently. */
  @Test
  void aModelNamedTwiceIsRefused() {
    assertThatThrownBy(
            () ->
                loader.parse(
                    """
                    models:
                      m:
                        deployments:
                          - {name: a, base_url: "http://127.0.0.1:9/v1", api_key: k, rpm: 1, tpm: 1}
                      m:
                        deployments:
                          - {name: b, base_url: "http://127.0.0.1:9/v1", api_key: k, rpm: 1, tpm: 1}
                    """,
                    "dup.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("models.m (line 5): appears twice");
  }

  /** An api_key goes into a request header: a CR or LF in it would inject another header. */
  @Test
  void aKeyWithALineBreakIsRefused() {
    ConfigLoader withEnv = new ConfigLoader(Map.of("KEY", "sk-real\r\nX-Injected: yes")::get);
    assertThatThrownBy(
            () ->
                withEnv.parse(
                    """
                    models:
                      m:
                        deployments:
                          - {name: a, base_url: "http://127.0.0.1:9/v1", api_key: "${KEY}", rpm: 1, tpm: 1}
                    """,
                    "crlf.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("api_key (line 4): contains a control character")
        .hasMessageNotContaining("sk-real");
  }

  private static final String ONE_MODEL =
      """
      models:
        gpt-5:
          deployments:
            - {name: a, base_url: "http://127.0.0.1:9/v1", api_key: k, rpm: 1, tpm: 1}
        gpt-5.1:
          deployments:
            - {name: b, base_url: "http://127.0.0.1:9/v1", api_key: k, rpm: 1, tpm: 1}
      """;

  @Test
  void tenancyDefaultsAndSettings() {
    GatewayConfig plain = loader.parse(ONE_MODEL, "t.yaml", java.nio.file.Path.of("/srv/penstock"));
    assertThat(plain.tenancy().auth()).isEqualTo(dev.penstock.server.tenant.Tenants.Auth.AUTO);
    assertThat(plain.tenancy().storagePath())
        .isEqualTo(java.nio.file.Path.of("/srv/penstock/penstock-data/penstock.db"));
    assertThat(plain.tenancy().metricsMaxKeys()).isEqualTo(100);
    assertThat(plain.tenancy().pricing().priced("gpt-5", "gpt-5")).isTrue();
    assertThat(plain.models().get("gpt-5").canary()).isNull();

    GatewayConfig shared =
        loader.parse(
            """
            listen: 0.0.0.0:8080
            auth: required
            storage: {path: /var/lib/penstock/db.sqlite}
            tenants: {metrics_max_keys: 7}
            pricing:
              gpt-5: {input_per_1m: 2, output_per_1m: 8}
            """
                + ONE_MODEL.replace(
                    "  gpt-5:\n", "  gpt-5:\n    canary: {model: gpt-5.1, percent: 12.5}\n"),
            "t.yaml",
            java.nio.file.Path.of("/srv"));
    assertThat(shared.host()).isEqualTo("0.0.0.0");
    assertThat(shared.tenancy().auth()).isEqualTo(dev.penstock.server.tenant.Tenants.Auth.REQUIRED);
    assertThat(shared.tenancy().storagePath())
        .isEqualTo(java.nio.file.Path.of("/var/lib/penstock/db.sqlite"));
    assertThat(shared.tenancy().metricsMaxKeys()).isEqualTo(7);
    assertThat(shared.tenancy().pricing().cost("gpt-5", "gpt-5", 1_000_000, 0, 1_000_000))
        .isEqualTo(10.0);
    assertThat(shared.models().get("gpt-5").canary())
        .isEqualTo(new GatewayConfig.Canary("gpt-5.1", 12.5));
  }

  @Test
  void badTenancySettingsAreReportedWithTheirPaths() {
    assertThatThrownBy(
            () ->
                loader.parse(
                    """
                    auth: sometimes
                    storage: {path: "", colour: red}
                    tenants: {metrics_max_keys: -1}
                    pricing:
                      gpt-5: {input_per_1m: -2, output_per_1m: 8}
                    """
                        + ONE_MODEL.replace(
                            "  gpt-5:\n", "  gpt-5:\n    canary: {model: nowhere, percent: 101}\n"),
                    "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("auth (line 1): must be auto")
        .hasMessageContaining("storage.colour (line 2): unknown field")
        .hasMessageContaining("storage.path (line 2): must name a file")
        .hasMessageContaining("tenants.metrics_max_keys (line 3)")
        .hasMessageContaining("pricing.gpt-5.input_per_1m (line 5)")
        .hasMessageContaining(
            "models.gpt-5.canary.percent (line 8): must be a number from 0 to 100");
    assertThatThrownBy(
            () ->
                loader.parse(
                    ONE_MODEL.replace(
                        "  gpt-5:\n", "  gpt-5:\n    canary: {model: nowhere, percent: 5}\n"),
                    "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("models.gpt-5.canary.model (line 3): 'nowhere' is not another model");
  }

  @Test
  void cacheDefaultsAndSettings() {
    GatewayConfig plain = loader.parse(ONE_MODEL, "t.yaml");
    assertThat(plain.cache().caches("gpt-5")).isTrue();
    assertThat(plain.cache().maxBytes()).isEqualTo(256L << 20);
    assertThat(plain.cache().ttl("gpt-5")).isEqualTo(java.time.Duration.ofHours(1));
    assertThat(plain.cache().redisUrl()).isNull();
    assertThat(plain.cache().sharedNamespace()).isFalse();
    assertThat(plain.cache().anySemantic()).isFalse();

    GatewayConfig tuned =
        loader.parse(
            """
            cache:
              max_bytes: 1048576
              ttl: 30m
              redis_url: redis://:secret@127.0.0.1:6379/2
              redis_timeout_ms: 20
              redis_prefix: "team-a:cache:"
              namespace: shared
            """
                + ONE_MODEL.replace(
                    "  gpt-5:\n",
                    "  gpt-5:\n    cache: {ttl: 90s, always: true, semantic: true, semantic_threshold: 0.9}\n")
                + """
                  gpt-5.2:
                    cache: {enabled: false}
                    deployments:
                      - {name: c, base_url: "http://127.0.0.1:9/v1", api_key: k, rpm: 1, tpm: 1}
                """,
            "t.yaml");
    var cache = tuned.cache();
    assertThat(cache.maxBytes()).isEqualTo(1_048_576);
    assertThat(cache.ttl("gpt-5.1")).isEqualTo(java.time.Duration.ofMinutes(30));
    assertThat(cache.ttl("gpt-5")).isEqualTo(java.time.Duration.ofSeconds(90));
    assertThat(cache.model("gpt-5").always()).isTrue();
    assertThat(cache.model("gpt-5").semanticThreshold()).isEqualTo(0.9);
    assertThat(cache.anySemantic()).isTrue();
    assertThat(cache.caches("gpt-5.2")).isFalse();
    assertThat(cache.redisUrl().reveal()).isEqualTo("redis://:secret@127.0.0.1:6379/2");
    assertThat(cache.redisTimeoutMillis()).isEqualTo(20);
    assertThat(cache.redisPrefix()).isEqualTo("team-a:cache:");
    assertThat(cache.sharedNamespace()).isTrue();
    assertThat(cache.toString()).doesNotContain("secret");
  }

  @Test
  void badCacheSettingsAreReportedWithTheirPathsAndNeverEchoTheRedisUrl() {
    assertThatThrownBy(
            () ->
                loader.parse(
                    """
                    cache:
                      ttl: forever
                      max_bytes: -1
                      redis_url: http://user:hunter2@host
                      namespace: everyone
                      colour: red
                    """
                        + ONE_MODEL.replace(
                            "  gpt-5:\n",
                            "  gpt-5:\n    cache: {ttl: 0s, semantic_threshold: 2}\n"),
                    "bad.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cache.ttl (line 2): must be a duration")
        .hasMessageContaining("cache.max_bytes (line 3)")
        .hasMessageContaining("cache.redis_url (line 4): must be a redis:// or rediss:// URL")
        .hasMessageContaining("cache.namespace (line 5): must be per_key")
        .hasMessageContaining("cache.colour (line 6): unknown field")
        .hasMessageContaining("models.gpt-5.cache.ttl (line 9): must be a duration")
        .hasMessageContaining("models.gpt-5.cache.semantic_threshold (line 9)")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2"));
  }
}
