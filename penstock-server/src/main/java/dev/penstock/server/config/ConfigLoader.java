package dev.penstock.server.config;

import dev.penstock.config.BreakerSection;
import dev.penstock.config.ModelFields;
import dev.penstock.config.RetrySection;
import dev.penstock.config.SectionFields;
import dev.penstock.config.YamlReader;
import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.limit.TpmCharge;
import dev.penstock.server.cache.CacheSettings;
import dev.penstock.server.config.GatewayConfig.Defaults;
import dev.penstock.server.config.GatewayConfig.DeploymentConfig;
import dev.penstock.server.config.GatewayConfig.ModelConfig;
import dev.penstock.server.tenant.Pricing;
import dev.penstock.server.tenant.Tenants;
import dev.penstock.server.upstream.UpstreamOptions;
import dev.penstock.server.upstream.UpstreamProxy;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;

/**
 * Reads the gateway's YAML file into a validated {@link GatewayConfig}.
 *
 * <p>Two steps: SnakeYAML composes the file into nodes that remember their line, then a walk over
 * those nodes checks every field and builds the records. {@code ${VAR}} and {@code ${VAR:-default}}
 * are replaced from the environment inside scalar values only, after parsing, so a secret's
 * characters can never change the YAML's structure. Every problem is collected — not just the first
 * — and reported with its field path and line: {@code models.gpt-5.deployments[1].rpm (line 14):
 * must be a whole number >= 1}.
 *
 * <p>The typed reading of fields, {@code ${VAR}}, the messages and the sections the embedded
 * library reads too come from penstock-config ({@link YamlReader}, {@link SectionFields}), so that
 * both report a problem in the same words.
 */
public final class ConfigLoader {
  private static final Set<String> STORAGE = Set.of("path", "postgres_url");
  private static final Set<String> CLUSTER = Set.of("name", "redis_url", "instances", "lease_ms");
  private static final Set<String> TENANTS = Set.of("metrics_max_keys");
  private static final Set<String> UPSTREAM = Set.of("ca_file", "proxy", "no_proxy", "http2");

  // The sections the library reads too: their field names are kept with the library's.
  private static final Set<String> TOP_FIELDS = SectionFields.TOP.all();
  private static final Set<String> DEFAULTS_FIELDS = SectionFields.DEFAULTS.all();
  private static final Set<String> MODEL_FIELDS = SectionFields.MODEL.all();
  private static final Set<String> DEPLOYMENT_FIELDS = SectionFields.DEPLOYMENT.all();

  /** The embedded database when {@code storage.path} is not set. */
  public static final String DEFAULT_STORAGE_PATH = "./penstock-data/penstock.db";

  private static final Set<String> METRICS = Set.of("enabled");
  private static final Set<String> LOGGING = Set.of("format", "access_log", "log_bodies");
  private static final Set<String> CACHE =
      Set.of(
          "enabled",
          "max_bytes",
          "ttl",
          "max_entry_bytes",
          "redis_url",
          "redis_timeout_ms",
          "redis_prefix",
          "namespace");
  private static final Set<String> MODEL_CACHE =
      Set.of("enabled", "always", "ttl", "semantic", "semantic_threshold");
  private static final Set<String> EMBEDDINGS = Set.of("batch_window_ms", "max_batch_inputs");
  private static final Set<String> BATCHES =
      Set.of(
          "concurrency",
          "max_concurrency",
          "claim_ms",
          "line_timeout_ms",
          "max_file_bytes",
          "max_lines");
  private static final Set<String> QUEUES = Set.of("rabbitmq");
  private static final Set<String> RABBIT =
      Set.of("url", "queue", "max_priority", "prefetch", "dead_letter_exchange", "timeout_ms");
  private static final Set<String> CANARY = Set.of("model", "percent");

  private final Function<String, @Nullable String> environment;

  /** A loader reading {@code ${VAR}} from the process environment. */
  public ConfigLoader() {
    this(System::getenv);
  }

  public ConfigLoader(Function<String, @Nullable String> environment) {
    this.environment = environment;
  }

  /** Loads a config file; a relative {@code storage.path} is resolved against its directory. */
  public GatewayConfig load(Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    return parse(
        Files.readString(file, StandardCharsets.UTF_8),
        file.toString(),
        dir == null ? Path.of("").toAbsolutePath() : dir);
  }

  /**
   * Parses configuration text; {@code source} names it in error messages. A relative {@code
   * storage.path} is resolved against the working directory.
   */
  public GatewayConfig parse(String text, String source) {
    return parse(text, source, Path.of("").toAbsolutePath());
  }

  /** Parses configuration text, resolving a relative {@code storage.path} against {@code base}. */
  public GatewayConfig parse(String text, String source, Path base) {
    Node root = YamlReader.compose(text, problems -> new ConfigException(source, problems));
    Walk walk = new Walk(base);
    GatewayConfig config = walk.top(root);
    if (!walk.r.problems().isEmpty() || config == null) {
      throw new ConfigException(source, walk.r.problems());
    }
    return config;
  }

  /** One pass over the node tree, collecting problems. */
  private final class Walk {
    final YamlReader r = new YamlReader(environment);
    final Path base;

    Walk(Path base) {
      this.base = base;
    }

    @Nullable GatewayConfig top(Node root) {
      Map<String, Node> fields = r.fields(root, "", TOP_FIELDS);
      if (fields == null) {
        return null;
      }
      String host = "127.0.0.1";
      int port = 8080;
      Node listenNode = fields.get("listen");
      String listen = listenNode == null ? null : r.string(listenNode, "listen");
      if (listenNode != null && listen != null) {
        int colon = listen.lastIndexOf(':');
        host = colon <= 0 ? "" : listen.substring(0, colon).replace("[", "").replace("]", "");
        port = colon < 0 ? -1 : parsePort(listen.substring(colon + 1));
      }
      Tenants.Auth auth = Tenants.Auth.AUTO;
      Node authNode = fields.get("auth");
      if (authNode != null) {
        String text = r.string(authNode, "auth");
        if ("required".equals(text)) {
          auth = Tenants.Auth.REQUIRED;
        } else if (!"auto".equals(text)) {
          r.problem(
              authNode,
              "auth",
              "must be auto (virtual keys needed once one exists) or required (always)");
        }
      }
      if (listenNode != null && listen != null) {
        if (host.isEmpty() || port < 0) {
          r.problem(listenNode, "listen", "must be host:port, e.g. 127.0.0.1:8080");
        } else if (!isLoopback(host) && auth != Tenants.Auth.REQUIRED) {
          r.problem(
              listenNode,
              "listen",
              "a gateway that may run in open mode (no virtual keys) listens on loopback only;"
                  + " use 127.0.0.1 or ::1, or set 'auth: required' to serve other hosts");
        }
      }
      String adminKey = r.optionalString(fields, "admin_key", "", "");
      Defaults defaults =
          fields.containsKey("defaults") ? defaults(fields.get("defaults")) : Defaults.STANDARD;
      Map<String, ModelConfig> models = new LinkedHashMap<>();
      Node modelsNode = fields.get("models");
      if (modelsNode == null) {
        r.problem("models: required; name at least one public model with its deployments");
      } else {
        models = models(modelsNode, defaults);
      }
      RetrySection retry =
          fields.containsKey("retry")
              ? RetrySection.read(r, fields.get("retry"))
              : RetrySection.DEFAULT;
      BreakerPolicy breaker =
          fields.containsKey("circuit_breaker")
              ? breaker(fields.get("circuit_breaker"))
              : BreakerPolicy.DEFAULT;
      return new GatewayConfig(
          host,
          port,
          new Secret(adminKey == null ? "" : adminKey),
          defaults,
          models,
          retry.policy(),
          retry.onTimeout(),
          breaker,
          observability(fields.get("metrics"), fields.get("logging")),
          new GatewayConfig.Tenancy(
              auth,
              storagePath(fields.get("storage")),
              pricing(fields.get("pricing")),
              metricsMaxKeys(fields.get("tenants")),
              postgresUrl(fields.get("storage"))),
          cache(fields.get("cache")),
          embeddings(fields.get("embeddings")),
          batches(fields.get("batches")),
          rabbit(fields.get("queues")),
          cluster(fields.get("cluster")),
          upstream(fields.get("upstream")));
    }

    /** {@code upstream:}: how upstreams are reached (trust, proxy, HTTP/2). */
    GatewayConfig.UpstreamNetwork upstream(@Nullable Node node) {
      GatewayConfig.UpstreamNetwork d = GatewayConfig.UpstreamNetwork.STANDARD;
      String p = "upstream.";
      @Nullable Map<String, Node> f = node == null ? null : r.fields(node, p, UPSTREAM);
      if (f == null) {
        return d;
      }
      Path caFile = null;
      if (f.containsKey("ca_file")) {
        String text = r.string(f.get("ca_file"), p + "ca_file");
        if (text != null && !text.isBlank()) { // ${PENSTOCK_CA_FILE:-} left empty: none
          try {
            caFile = base.resolve(text).normalize();
            UpstreamOptions.certificates(caFile);
          } catch (java.nio.file.InvalidPathException e) {
            r.problem(f.get("ca_file"), p + "ca_file", "is not a valid path: " + e.getReason());
            caFile = null;
          } catch (java.nio.file.NoSuchFileException e) {
            r.problem(f.get("ca_file"), p + "ca_file", "no such file: " + caFile);
            caFile = null;
          } catch (IOException e) {
            r.problem(
                f.get("ca_file"),
                p + "ca_file",
                caFile + " " + (e.getMessage() == null ? "cannot be read" : e.getMessage()));
            caFile = null;
          }
        }
      }
      Secret proxy = null;
      if (f.containsKey("proxy")) {
        String text = r.string(f.get("proxy"), p + "proxy");
        if (text != null && !text.isBlank()) { // empty: the environment's, as when not set
          if (text.trim().equalsIgnoreCase("none")) {
            proxy = GatewayConfig.UpstreamNetwork.NO_PROXY;
          } else {
            try {
              UpstreamProxy.parse(text); // its messages never repeat the URL
              proxy = new Secret(text.trim());
            } catch (IllegalArgumentException e) {
              r.problem(f.get("proxy"), p + "proxy", String.valueOf(e.getMessage()));
            }
          }
        }
      }
      String noProxy = null;
      if (f.containsKey("no_proxy")) {
        noProxy = r.string(f.get("no_proxy"), p + "no_proxy");
      }
      boolean http2 = d.http2();
      if (f.containsKey("http2")) {
        String text = r.string(f.get("http2"), p + "http2");
        if ("off".equals(text)) {
          http2 = false;
        } else if ("auto".equals(text)) {
          http2 = true;
        } else {
          r.problem(
              f.get("http2"),
              p + "http2",
              "must be auto (HTTP/2 where a TLS upstream offers it) or off");
        }
      }
      return new GatewayConfig.UpstreamNetwork(caFile, proxy, noProxy, http2);
    }

    /** {@code storage.postgres_url}, or null for the embedded database. */
    @Nullable Secret postgresUrl(@Nullable Node node) {
      @Nullable Map<String, Node> f = node == null ? null : r.fields(node, "storage.", STORAGE);
      if (f == null || !f.containsKey("postgres_url")) {
        return null;
      }
      String text = r.string(f.get("postgres_url"), "storage.postgres_url");
      if (text == null || text.isBlank()) {
        return null; // ${PENSTOCK_POSTGRES_URL:-} left empty: the embedded database
      }
      if (!text.startsWith("postgresql://") && !text.startsWith("postgres://")) {
        // never echo the value: it may hold a password
        r.problem(
            f.get("postgres_url"),
            "storage.postgres_url",
            "must be a postgresql://user:pass@host:port/db URL");
        return null;
      }
      return new Secret(text);
    }

    /** {@code cluster:}: cluster mode, or null for a single instance. */
    GatewayConfig.@Nullable Cluster cluster(@Nullable Node node) {
      if (node == null) {
        return null;
      }
      String p = "cluster.";
      @Nullable Map<String, Node> f = r.fields(node, p, CLUSTER);
      if (f == null) {
        return null;
      }
      String name = null;
      if (!f.containsKey("name")) {
        r.problem(node, p + "name", "is required: instances with the same name share limits");
      } else {
        name = r.string(f.get("name"), p + "name");
        if (name == null || !name.matches("[A-Za-z0-9_.-]{1,64}")) {
          r.problem(f.get("name"), p + "name", "must be 1 to 64 letters, digits, '_', '.' or '-'");
          name = null;
        }
      }
      Secret url = null;
      if (!f.containsKey("redis_url")) {
        r.problem(node, p + "redis_url", "is required (redis://host:6379/0)");
      } else {
        String text = r.string(f.get("redis_url"), p + "redis_url");
        if (text == null || !(text.startsWith("redis://") || text.startsWith("rediss://"))) {
          // never echo the value: it may hold a password
          r.problem(f.get("redis_url"), p + "redis_url", "must be a redis:// or rediss:// URL");
        } else {
          url = new Secret(text);
        }
      }
      int instances = 0;
      if (!f.containsKey("instances")) {
        r.problem(
            node,
            p + "instances",
            "is required: how many instances run (each uses 1/instances of every limit while"
                + " Redis cannot be reached)");
      } else {
        instances = (int) r.number(f, "instances", p, 1, 1, 1_000);
      }
      long lease =
          r.number(
              f,
              "lease_ms",
              p,
              GatewayConfig.Cluster.DEFAULT_LEASE_MILLIS,
              50,
              GatewayConfig.Cluster.MAX_LEASE_MILLIS);
      if (name == null || url == null || instances < 1) {
        return null;
      }
      return new GatewayConfig.Cluster(name, url, instances, lease);
    }

    /** {@code batches:}: how the Batch API executes batches. */
    GatewayConfig.Batches batches(@Nullable Node node) {
      GatewayConfig.Batches d = GatewayConfig.Batches.STANDARD;
      @Nullable Map<String, Node> f = node == null ? null : r.fields(node, "batches.", BATCHES);
      if (f == null) {
        return d;
      }
      long lineTimeout =
          r.number(f, "line_timeout_ms", "batches.", d.lineTimeoutMillis(), 1_000, 86_400_000);
      long claim = r.number(f, "claim_ms", "batches.", d.claimMillis(), 1_000, 86_400_000);
      if (claim <= lineTimeout && f.containsKey("claim_ms")) {
        r.problem(
            f.get("claim_ms"),
            "batches.claim_ms",
            "must be longer than batches.line_timeout_ms ("
                + lineTimeout
                + "), or a claimed line could be taken again while it runs");
      }
      return new GatewayConfig.Batches(
          (int) r.number(f, "concurrency", "batches.", d.concurrency(), 1, 10_000),
          (int) r.number(f, "max_concurrency", "batches.", d.maxConcurrency(), 1, 100_000),
          Math.max(claim, lineTimeout + 1_000),
          lineTimeout,
          r.number(
              f,
              "max_file_bytes",
              "batches.",
              d.maxFileBytes(),
              1,
              GatewayConfig.Batches.OPENAI_MAX_FILE_BYTES),
          (int)
              r.number(
                  f,
                  "max_lines",
                  "batches.",
                  d.maxLines(),
                  1,
                  GatewayConfig.Batches.OPENAI_MAX_LINES));
    }

    /** {@code queues.rabbitmq:}: the RabbitMQ ingress, or null when not configured. */
    GatewayConfig.@Nullable Rabbit rabbit(@Nullable Node node) {
      @Nullable Map<String, Node> q = node == null ? null : r.fields(node, "queues.", QUEUES);
      if (q == null || !q.containsKey("rabbitmq")) {
        return null;
      }
      String p = "queues.rabbitmq.";
      @Nullable Map<String, Node> f = r.fields(q.get("rabbitmq"), p, RABBIT);
      if (f == null) {
        return null;
      }
      Secret url = null;
      if (!f.containsKey("url")) {
        r.problem(q.get("rabbitmq"), p + "url", "is required (amqp://user:pass@host:5672/vhost)");
      } else {
        String text = r.string(f.get("url"), p + "url");
        if (text == null || !(text.startsWith("amqp://") || text.startsWith("amqps://"))) {
          // never echo the value: it may hold a password
          r.problem(f.get("url"), p + "url", "must be an amqp:// or amqps:// URL");
        } else {
          url = new Secret(text);
        }
      }
      String queue = null;
      if (!f.containsKey("queue")) {
        r.problem(q.get("rabbitmq"), p + "queue", "is required: the queue to consume");
      } else {
        queue = r.string(f.get("queue"), p + "queue");
        if (queue == null || queue.isBlank() || queue.length() > 255) {
          r.problem(f.get("queue"), p + "queue", "must be a queue name of 1 to 255 characters");
          queue = null;
        }
      }
      String dlx = queue == null ? "" : queue + ".dead";
      if (f.containsKey("dead_letter_exchange")) {
        String text = r.string(f.get("dead_letter_exchange"), p + "dead_letter_exchange");
        if (text == null || text.isBlank() || text.length() > 255) {
          r.problem(
              f.get("dead_letter_exchange"),
              p + "dead_letter_exchange",
              "must be an exchange name of 1 to 255 characters");
        } else {
          dlx = text;
        }
      }
      int maxPriority = (int) r.number(f, "max_priority", p, 10, 1, 255);
      int prefetch = (int) r.number(f, "prefetch", p, 16, 1, 10_000);
      long timeout = r.number(f, "timeout_ms", p, 600_000, 1, 86_400_000);
      if (url == null || queue == null) {
        return null;
      }
      return new GatewayConfig.Rabbit(url, queue, maxPriority, prefetch, dlx, timeout);
    }

    /** {@code cache:} with each model's {@code cache:} collected while the models were read. */
    CacheSettings cache(@Nullable Node node) {
      CacheSettings d = CacheSettings.DEFAULT;
      if (node == null) {
        return withModels(d);
      }
      Map<String, Node> f = r.fields(node, "cache.", CACHE);
      if (f == null) {
        return withModels(d);
      }
      Secret redis = null;
      if (f.containsKey("redis_url")) {
        String url = r.string(f.get("redis_url"), "cache.redis_url");
        if (url != null && !url.isBlank()) {
          if (!url.startsWith("redis://") && !url.startsWith("rediss://")) {
            // never echo the value: it may hold a password
            r.problem(f.get("redis_url"), "cache.redis_url", "must be a redis:// or rediss:// URL");
          } else {
            redis = new Secret(url);
          }
        }
      }
      boolean shared = false;
      if (f.containsKey("namespace")) {
        String text = r.string(f.get("namespace"), "cache.namespace");
        shared = "shared".equals(text);
        if (!shared && !"per_key".equals(text)) {
          r.problem(
              f.get("namespace"),
              "cache.namespace",
              "must be per_key (each virtual key sees only its own answers) or shared");
        }
      }
      Duration ttl =
          f.containsKey("ttl") ? r.duration(f.get("ttl"), "cache.ttl", d.ttl()) : d.ttl();
      String prefix = d.redisPrefix();
      if (f.containsKey("redis_prefix")) {
        String text = r.string(f.get("redis_prefix"), "cache.redis_prefix");
        if (text == null || text.isEmpty() || text.contains("*")) {
          r.problem(
              f.get("redis_prefix"), "cache.redis_prefix", "must be a non-empty text without *");
        } else {
          prefix = text;
        }
      }
      return withModels(
          new CacheSettings(
              r.bool(f, "enabled", "cache.", d.enabled()),
              r.number(f, "max_bytes", "cache.", d.maxBytes(), 0, 1L << 40),
              ttl,
              r.number(f, "max_entry_bytes", "cache.", d.maxEntryBytes(), 1, 1L << 30),
              redis,
              r.number(f, "redis_timeout_ms", "cache.", d.redisTimeoutMillis(), 1, 10_000),
              prefix,
              shared,
              Map.of()));
    }

    private final Map<String, CacheSettings.ModelCache> modelCaches = new LinkedHashMap<>();

    private CacheSettings withModels(CacheSettings s) {
      return new CacheSettings(
          s.enabled(),
          s.maxBytes(),
          s.ttl(),
          s.maxEntryBytes(),
          s.redisUrl(),
          s.redisTimeoutMillis(),
          s.redisPrefix(),
          s.sharedNamespace(),
          modelCaches);
    }

    /** {@code models.<name>.cache:}: the model's own cache settings. */
    void modelCache(String model, Node node, String prefix) {
      Map<String, Node> f = r.fields(node, prefix, MODEL_CACHE);
      if (f == null) {
        return;
      }
      CacheSettings.ModelCache d = CacheSettings.ModelCache.DEFAULT;
      double threshold = d.semanticThreshold();
      Node t = f.get("semantic_threshold");
      if (t != null) {
        String text = r.string(t, prefix + "semantic_threshold");
        try {
          threshold = Double.parseDouble(text == null ? "" : text.trim());
        } catch (NumberFormatException e) {
          threshold = -1;
        }
        if (!(threshold > 0 && threshold <= 1)) {
          r.problem(t, prefix + "semantic_threshold", "must be a number above 0 and at most 1");
          threshold = d.semanticThreshold();
        }
      }
      modelCaches.put(
          model,
          new CacheSettings.ModelCache(
              r.bool(f, "enabled", prefix, d.enabled()),
              r.bool(f, "always", prefix, d.always()),
              f.containsKey("ttl") ? r.duration(f.get("ttl"), prefix + "ttl", Duration.ZERO) : null,
              r.bool(f, "semantic", prefix, d.semantic()),
              threshold));
    }

    /** {@code embeddings:}: micro-batching of embedding requests, off unless a window is set. */
    GatewayConfig.Embeddings embeddings(@Nullable Node node) {
      GatewayConfig.Embeddings d = GatewayConfig.Embeddings.STANDARD;
      @Nullable Map<String, Node> f =
          node == null ? null : r.fields(node, "embeddings.", EMBEDDINGS);
      if (f == null) {
        return d;
      }
      return new GatewayConfig.Embeddings(
          r.number(
              f,
              "batch_window_ms",
              "embeddings.",
              d.batchWindowMillis(),
              0,
              GatewayConfig.Embeddings.MAX_WINDOW_MILLIS),
          (int)
              r.number(
                  f,
                  "max_batch_inputs",
                  "embeddings.",
                  d.maxBatchInputs(),
                  1,
                  GatewayConfig.Embeddings.MAX_INPUTS));
    }

    Path storagePath(@Nullable Node node) {
      String path = DEFAULT_STORAGE_PATH;
      if (node != null) {
        Map<String, Node> f = r.fields(node, "storage.", STORAGE);
        if (f != null && f.containsKey("path")) {
          String text = r.string(f.get("path"), "storage.path");
          if (text == null || text.isBlank()) {
            r.problem(f.get("path"), "storage.path", "must name a file");
          } else {
            path = text;
          }
        }
      }
      try {
        return base.resolve(path).normalize();
      } catch (java.nio.file.InvalidPathException e) {
        r.problem("storage.path: is not a valid path: " + e.getReason());
        return base.resolve(DEFAULT_STORAGE_PATH).normalize();
      }
    }

    int metricsMaxKeys(@Nullable Node node) {
      if (node == null) {
        return 100;
      }
      Map<String, Node> f = r.fields(node, "tenants.", TENANTS);
      return f == null ? 100 : (int) r.number(f, "metrics_max_keys", "tenants.", 100, 0, 10_000);
    }

    /** {@code pricing:}: the shipped table, with the configured models' prices over it. */
    Pricing pricing(@Nullable Node node) {
      List<String> found = new ArrayList<>();
      Pricing configured = node == null ? Pricing.NONE : Pricing.parse(node, "pricing", found);
      found.forEach(r::problem);
      return Pricing.merge(Pricing.defaults(), configured);
    }

    Observability observability(@Nullable Node metrics, @Nullable Node logging) {
      Observability d = Observability.STANDARD;
      boolean enabled = d.metrics();
      if (metrics != null) {
        Map<String, Node> f = r.fields(metrics, "metrics.", METRICS);
        enabled = f == null ? enabled : r.bool(f, "enabled", "metrics.", enabled);
      }
      if (logging == null) {
        return new Observability(enabled, d.logFormat(), d.accessLog(), d.logBodies());
      }
      Map<String, Node> f = r.fields(logging, "logging.", LOGGING);
      if (f == null) {
        return new Observability(enabled, d.logFormat(), d.accessLog(), d.logBodies());
      }
      Observability.LogFormat format = d.logFormat();
      if (f.containsKey("format")) {
        String text = r.string(f.get("format"), "logging.format");
        try {
          format = Observability.LogFormat.parse(text == null ? "" : text);
        } catch (IllegalArgumentException e) {
          r.problem(f.get("format"), "logging.format", "must be auto, plain or json");
        }
      }
      return new Observability(
          enabled,
          format,
          r.bool(f, "access_log", "logging.", d.accessLog()),
          r.bool(f, "log_bodies", "logging.", d.logBodies()));
    }

    /** {@code canary: {model, percent}}: a share of a model's traffic sent to another model. */
    GatewayConfig.@Nullable Canary canary(Node node, String prefix) {
      Map<String, Node> f = r.fields(node, prefix, CANARY);
      if (f == null) {
        return null;
      }
      String model = r.required(f, "model", prefix, node);
      double percent = -1;
      Node percentNode = f.get("percent");
      if (percentNode == null) {
        r.problem(node, prefix + "percent", "is required");
      } else {
        String text = r.string(percentNode, prefix + "percent");
        try {
          percent = Double.parseDouble(text == null ? "" : text.trim());
        } catch (NumberFormatException e) {
          percent = -1;
        }
        if (!(percent >= 0 && percent <= 100)) {
          r.problem(percentNode, prefix + "percent", "must be a number from 0 to 100");
        }
      }
      return model == null || !(percent >= 0 && percent <= 100)
          ? null
          : new GatewayConfig.Canary(model, percent);
    }

    BreakerPolicy breaker(Node node) {
      return BreakerSection.policy(r, node);
    }

    Defaults defaults(Node node) {
      Map<String, Node> f = r.fields(node, "defaults.", DEFAULTS_FIELDS);
      Defaults d = Defaults.STANDARD;
      if (f == null) {
        return d;
      }
      return new Defaults(
          r.number(f, "timeout_ms", "defaults.", d.timeoutMillis(), 1, 86_400_000),
          (int) r.number(f, "max_output_tokens", "defaults.", d.maxOutputTokens(), 1, 10_000_000),
          (int) r.number(f, "max_queue", "defaults.", d.maxQueued(), 0, 10_000_000),
          r.number(f, "pacing_guard_ms", "defaults.", d.pacingGuardMillis(), 0, 60_000),
          r.number(f, "connect_timeout_ms", "defaults.", d.connectTimeoutMillis(), 1, 600_000),
          r.number(
              f, "first_byte_timeout_ms", "defaults.", d.firstByteTimeoutMillis(), 1, 3_600_000),
          r.number(f, "read_timeout_ms", "defaults.", d.readTimeoutMillis(), 1, 3_600_000),
          // at most 1 GiB: a body is held in one byte[]
          r.number(f, "max_body_bytes", "defaults.", d.maxBodyBytes(), 1024, 1L << 30),
          r.number(f, "shutdown_grace_ms", "defaults.", d.shutdownGraceMillis(), 0, 3_600_000),
          r.number(
              f,
              "client_write_timeout_ms",
              "defaults.",
              d.clientWriteTimeoutMillis(),
              1_000,
              3_600_000),
          // at most 1 GiB: a whole answer is held in one byte[]
          r.number(f, "max_answer_bytes", "defaults.", d.maxAnswerBytes(), 1 << 20, 1L << 30),
          r.number(
              f,
              "request_head_timeout_ms",
              "defaults.",
              d.requestHeadTimeoutMillis(),
              1_000,
              600_000),
          r.number(
              f,
              "request_body_timeout_ms",
              "defaults.",
              d.requestBodyTimeoutMillis(),
              1_000,
              3_600_000),
          r.number(
              f, "keepalive_timeout_ms", "defaults.", d.keepAliveTimeoutMillis(), 1_000, 3_600_000),
          (int) r.number(f, "max_connections", "defaults.", d.maxConnections(), 0, 1_000_000));
    }

    Map<String, ModelConfig> models(Node node, Defaults defaults) {
      Map<String, ModelConfig> models = new LinkedHashMap<>();
      if (!(node instanceof MappingNode mapping)) {
        r.problem(node, "models", "must be a mapping of public model name to its deployments");
        return models;
      }
      Set<String> deploymentNames = new HashSet<>();
      Map<String, Node> fallbackNodes = new LinkedHashMap<>();
      Map<String, Node> canaryNodes = new LinkedHashMap<>();
      for (NodeTuple tuple : mapping.getValue()) {
        String name = YamlReader.scalar(tuple.getKeyNode());
        String path = "models." + name;
        if (models.containsKey(name)) {
          // YAML lets a later key replace an earlier one: a model would silently vanish.
          r.problem(tuple.getKeyNode(), path, "appears twice; each public model name once");
          continue;
        }
        Map<String, Node> f = r.fields(tuple.getValueNode(), path + ".", MODEL_FIELDS);
        if (f == null) {
          continue;
        }
        List<String> fallbacks =
            f.containsKey("fallbacks")
                ? r.strings(f.get("fallbacks"), path + ".fallbacks")
                : List.of();
        if (f.containsKey("fallbacks")) {
          fallbackNodes.put(name, f.get("fallbacks"));
        }
        List<DeploymentConfig> deployments = new ArrayList<>();
        List<Node> items = ModelFields.deployments(r, f, tuple.getKeyNode(), path);
        if (items != null) {
          for (int i = 0; i < items.size(); i++) {
            Node item = items.get(i);
            String itemPath = path + ".deployments[" + i + "]";
            String itemName = nameOf(item);
            if (itemName != null && !deploymentNames.add(itemName)) {
              r.problem(
                  item,
                  itemPath + ".name",
                  "'" + itemName + "' is already used; deployment names must be unique");
            }
            DeploymentConfig d = deployment(item, itemPath, name, defaults);
            if (d != null) {
              deployments.add(d);
            }
          }
        }
        GatewayConfig.Canary canary = null;
        if (f.containsKey("canary")) {
          canary = canary(f.get("canary"), path + ".canary.");
          if (canary != null) {
            canaryNodes.put(name, f.get("canary"));
          }
        }
        if (f.containsKey("cache")) {
          modelCache(name, f.get("cache"), path + ".cache.");
        }
        long window =
            r.number(
                f,
                "embeddings_batch_window_ms",
                path + ".",
                -1,
                0,
                GatewayConfig.Embeddings.MAX_WINDOW_MILLIS);
        models.put(name, new ModelConfig(name, fallbacks, deployments, canary, window));
      }
      for (ModelConfig m : models.values()) {
        GatewayConfig.Canary canary = m.canary();
        if (canary != null
            && (canary.model().equals(m.name()) || !models.containsKey(canary.model()))) {
          r.problem(
              canaryNodes.getOrDefault(m.name(), mapping),
              "models." + m.name() + ".canary.model",
              "'" + canary.model() + "' is not another model of this file");
        }
      }
      for (ModelConfig m : models.values()) {
        Node fallbacksNode = fallbackNodes.get(m.name());
        if (fallbacksNode == null) {
          continue;
        }
        for (String fallback : m.fallbacks()) {
          if (fallback.equals(m.name()) || !models.containsKey(fallback)) {
            r.problem(
                fallbacksNode,
                "models." + m.name() + ".fallbacks",
                "'" + fallback + "' is not another model of this file");
          }
        }
      }
      return models;
    }

    @Nullable DeploymentConfig deployment(Node node, String path, String model, Defaults defaults) {
      Map<String, Node> f = r.fields(node, path + ".", DEPLOYMENT_FIELDS);
      if (f == null) {
        return null;
      }
      String p = path + ".";
      String name = r.required(f, "name", p, node);
      String baseUrlText = r.required(f, "base_url", p, node);
      String apiKey = r.required(f, "api_key", p, node);
      // A field that required() found is in f; the nodes are kept to name the lines of problems.
      Node baseUrlNode = f.get("base_url");
      Node apiKeyNode = f.get("api_key");
      URI baseUrl = null;
      if (baseUrlText != null && baseUrlNode != null) {
        baseUrl = r.url(baseUrlText, baseUrlNode, p + "base_url");
      }
      if (apiKey != null && apiKeyNode != null) {
        r.headerValue(apiKey, apiKeyNode, p + "api_key"); // reported; the walk fails anyway
      }
      GatewayConfig.Provider provider =
          ModelFields.azure(r, f, p) ? GatewayConfig.Provider.AZURE : GatewayConfig.Provider.OPENAI;
      TpmCharge charge = ModelFields.chargesUsage(r, f, p) ? TpmCharge.USAGE : TpmCharge.ESTIMATE;
      String apiVersion = r.optionalString(f, "api_version", p, "");
      if (provider == GatewayConfig.Provider.AZURE
          && (apiVersion == null || apiVersion.isBlank())) {
        r.problem(node, p + "api_version", "is required for provider azure (e.g. 2024-10-21)");
      }
      long rpm = r.requiredNumber(f, "rpm", p, node, 1, 1, 1_000_000_000);
      long tpm = r.requiredNumber(f, "tpm", p, node, 1, 1, 100_000_000_000L);
      String upstreamModel = r.optionalString(f, "upstream_model", p, model);
      double weight =
          r.decimal(f, "weight", p, 1, w -> w > 0 && w < 1e6, "must be a positive number");
      if (name == null || baseUrl == null || apiKey == null) {
        return null;
      }
      return new DeploymentConfig(
          name,
          provider,
          baseUrl,
          new Secret(apiKey),
          upstreamModel == null ? model : upstreamModel,
          rpm,
          tpm,
          (int) r.number(f, "max_concurrency", p, 0, 0, 1_000_000),
          (int) r.number(f, "priority", p, 0, 0, 100),
          weight,
          charge,
          apiVersion == null ? "" : apiVersion,
          r.number(f, "connect_timeout_ms", p, defaults.connectTimeoutMillis(), 1, 600_000),
          r.number(f, "first_byte_timeout_ms", p, defaults.firstByteTimeoutMillis(), 1, 3_600_000),
          r.number(f, "read_timeout_ms", p, defaults.readTimeoutMillis(), 1, 3_600_000),
          r.number(f, "health_check_interval_ms", p, 0, 0, 86_400_000));
    }
  }

  private static @Nullable String nameOf(Node deployment) {
    if (deployment instanceof MappingNode mapping) {
      for (NodeTuple tuple : mapping.getValue()) {
        if ("name".equals(YamlReader.scalar(tuple.getKeyNode()))) {
          return YamlReader.scalar(tuple.getValueNode());
        }
      }
    }
    return null;
  }

  private static int parsePort(String text) {
    try {
      int port = Integer.parseInt(text);
      return port >= 0 && port <= 65535 ? port : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static boolean isLoopback(String host) {
    return host.equals("127.0.0.1")
        || host.equals("::1")
        || host.equals("localhost")
        || host.startsWith("127.");
  }
}
