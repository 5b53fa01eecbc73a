package dev.penstock.embedded;

import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.limit.TpmCharge;
import dev.penstock.core.retry.RetryPolicy;
import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads the part of the gateway's YAML file (SPEC 9) that a library uses: {@code models:} (same
 * fields, same defaults), and of {@code defaults:}, {@code retry:} and {@code circuit_breaker:} the
 * settings that apply in-process. {@code ${VAR}} and {@code ${VAR:-default}} are replaced from the
 * environment inside scalar values, after parsing, as the gateway does.
 *
 * <p>What is the gateway's alone — {@code listen}, {@code admin_key}, {@code auth}, {@code
 * tenants}, {@code storage}, {@code pricing}, {@code cache}, {@code embeddings}, {@code batches},
 * {@code queues}, {@code cluster}, {@code metrics}, {@code logging}, {@code upstream}, a model's
 * {@code canary}/{@code cache}/{@code embeddings_batch_window_ms}, the HTTP server's {@code
 * defaults} — is ignored with one warning naming it, so that one file serves both; such a section
 * is not validated. An unknown field anywhere else is an error, as in the gateway.
 *
 * <p>Two steps, like the gateway's loader: SnakeYAML composes nodes that remember their line, then
 * a walk checks every field and collects every problem with its field path and line.
 */
record YamlConfig(List<Model> models, Settings settings) {
  private static final Logger LOG = LoggerFactory.getLogger(YamlConfig.class);
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?}");
  private static final long MILLI = 1_000_000L;

  private static final Set<String> TOP = Set.of("defaults", "models", "retry", "circuit_breaker");
  private static final Set<String> GATEWAY_ONLY =
      Set.of(
          "listen",
          "admin_key",
          "metrics",
          "logging",
          "auth",
          "storage",
          "pricing",
          "tenants",
          "cache",
          "embeddings",
          "batches",
          "queues",
          "cluster",
          "upstream");
  private static final Set<String> DEFAULTS =
      Set.of(
          "timeout_ms",
          "max_output_tokens",
          "max_queue",
          "pacing_guard_ms",
          "connect_timeout_ms",
          "first_byte_timeout_ms");
  private static final Set<String> DEFAULTS_GATEWAY_ONLY =
      Set.of(
          "read_timeout_ms",
          "max_body_bytes",
          "shutdown_grace_ms",
          "client_write_timeout_ms",
          "max_answer_bytes",
          "request_head_timeout_ms",
          "request_body_timeout_ms",
          "keepalive_timeout_ms",
          "max_connections");
  private static final Set<String> MODEL = Set.of("fallbacks", "deployments");
  private static final Set<String> MODEL_GATEWAY_ONLY =
      Set.of("canary", "cache", "embeddings_batch_window_ms");
  private static final Set<String> RETRY =
      Set.of("attempts", "backoff_base_ms", "backoff_cap_ms", "on_timeout");
  private static final Set<String> BREAKER =
      Set.of(
          "consecutive_failures",
          "error_rate",
          "min_requests",
          "window_ms",
          "open_ms",
          "max_open_ms");
  private static final Set<String> DEPLOYMENT =
      Set.of(
          "name",
          "provider",
          "base_url",
          "api_key",
          "upstream_model",
          "rpm",
          "tpm",
          "max_concurrency",
          "priority",
          "weight",
          "tpm_charge",
          "api_version",
          "connect_timeout_ms",
          "first_byte_timeout_ms");
  private static final Set<String> DEPLOYMENT_GATEWAY_ONLY =
      Set.of("read_timeout_ms", "health_check_interval_ms");

  static YamlConfig load(Path file, Function<String, @Nullable String> environment)
      throws IOException {
    return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString(), environment);
  }

  static YamlConfig parse(
      String text, String source, Function<String, @Nullable String> environment) {
    Node root;
    try {
      root = new Yaml(new LoaderOptions()).compose(new StringReader(text));
    } catch (MarkedYAMLException e) {
      int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
      throw new PenstockConfigException(source, List.of("line " + line + ": " + e.getProblem()));
    } catch (RuntimeException e) {
      throw new PenstockConfigException(source, List.of("not valid YAML: " + e.getMessage()));
    }
    Walk walk = new Walk(environment);
    YamlConfig config = root == null ? null : walk.top(root);
    if (root == null) {
      walk.problems.add("the file is empty; it needs at least 'models'");
    }
    if (!walk.problems.isEmpty() || config == null) {
      throw new PenstockConfigException(source, walk.problems);
    }
    if (!walk.ignored.isEmpty()) {
      LOG.warn(
          "{}: ignored, as they configure the gateway and not a library: {}",
          source,
          String.join(", ", walk.ignored));
    }
    return config;
  }

  /** One pass over the node tree, collecting problems and the gateway-only fields it skipped. */
  private static final class Walk {
    final List<String> problems = new ArrayList<>();
    final List<String> ignored = new ArrayList<>();
    final Function<String, @Nullable String> environment;

    Walk(Function<String, @Nullable String> environment) {
      this.environment = environment;
    }

    @Nullable YamlConfig top(Node root) {
      Map<String, Node> f = fields(root, "", TOP, GATEWAY_ONLY);
      if (f == null) {
        return null;
      }
      Settings settings = Settings.DEFAULT;
      if (f.containsKey("defaults")) {
        settings = defaults(f.get("defaults"), settings);
      }
      if (f.containsKey("retry")) {
        settings = retry(f.get("retry"), settings);
      }
      if (f.containsKey("circuit_breaker")) {
        settings = settings.withBreaker(breaker(f.get("circuit_breaker")));
      }
      Node modelsNode = f.get("models");
      if (modelsNode == null) {
        problems.add("models: required; name at least one public model with its deployments");
        return null;
      }
      List<Model> models = models(modelsNode);
      return problems.isEmpty() ? new YamlConfig(models, settings) : null;
    }

    Settings defaults(Node node, Settings d) {
      Map<String, Node> f = fields(node, "defaults.", DEFAULTS, DEFAULTS_GATEWAY_ONLY);
      if (f == null) {
        return d;
      }
      String p = "defaults.";
      return new Settings(
          Duration.ofMillis(number(f, "timeout_ms", p, d.timeout().toMillis(), 1, 86_400_000)),
          (int) number(f, "max_output_tokens", p, d.maxOutputTokens(), 1, 10_000_000),
          (int) number(f, "max_queue", p, d.maxQueued(), 0, 10_000_000),
          Duration.ofMillis(number(f, "pacing_guard_ms", p, d.pacingGuard().toMillis(), 0, 60_000)),
          Duration.ofMillis(
              number(f, "connect_timeout_ms", p, d.connectTimeout().toMillis(), 1, 600_000)),
          Duration.ofMillis(
              number(f, "first_byte_timeout_ms", p, d.firstByteTimeout().toMillis(), 1, 3_600_000)),
          d.retry(),
          d.retryTimeouts(),
          d.breaker());
    }

    Settings retry(Node node, Settings settings) {
      Map<String, Node> f = fields(node, "retry.", RETRY, Set.of());
      RetryPolicy d = RetryPolicy.DEFAULT;
      if (f == null) {
        return settings;
      }
      long baseMillis = number(f, "backoff_base_ms", "retry.", d.baseNanos() / MILLI, 0, 600_000);
      long capMillis = number(f, "backoff_cap_ms", "retry.", d.capNanos() / MILLI, 0, 3_600_000);
      if (capMillis < baseMillis) {
        problem(node, "retry.backoff_cap_ms", "must be at least backoff_base_ms");
        capMillis = baseMillis;
      }
      return settings.withRetry(
          new RetryPolicy(
              (int) number(f, "attempts", "retry.", d.attempts(), 1, 20),
              baseMillis * MILLI,
              capMillis * MILLI),
          bool(f, "on_timeout", "retry.", false));
    }

    BreakerPolicy breaker(Node node) {
      String p = "circuit_breaker.";
      Map<String, Node> f = fields(node, p, BREAKER, Set.of());
      BreakerPolicy d = BreakerPolicy.DEFAULT;
      if (f == null) {
        return d;
      }
      double errorRate = d.errorRate();
      if (f.containsKey("error_rate")) {
        String text = string(f.get("error_rate"), p + "error_rate");
        try {
          errorRate = Double.parseDouble(text == null ? "" : text.trim());
        } catch (NumberFormatException e) {
          errorRate = -1;
        }
        if (!(errorRate >= 0 && errorRate <= 1)) {
          problem(f.get("error_rate"), p + "error_rate", "must be a number from 0 to 1 (0 = off)");
          errorRate = d.errorRate();
        }
      }
      long openMillis = number(f, "open_ms", p, d.openNanos() / MILLI, 1, 3_600_000);
      long maxOpenMillis = number(f, "max_open_ms", p, d.maxOpenNanos() / MILLI, 1, 86_400_000);
      if (maxOpenMillis < openMillis) {
        problem(node, p + "max_open_ms", "must be at least open_ms");
        maxOpenMillis = openMillis;
      }
      return new BreakerPolicy(
          (int) number(f, "consecutive_failures", p, d.consecutiveFailures(), 1, 1_000_000),
          errorRate,
          (int) number(f, "min_requests", p, d.minRequests(), 1, 1_000_000),
          number(f, "window_ms", p, d.windowNanos() / MILLI, 1_000, 3_600_000) * MILLI,
          openMillis * MILLI,
          maxOpenMillis * MILLI);
    }

    List<Model> models(Node node) {
      List<Model> models = new ArrayList<>();
      if (!(node instanceof MappingNode mapping) || mapping.getValue().isEmpty()) {
        problem(node, "models", "must be a mapping of public model name to its deployments");
        return models;
      }
      Set<String> modelNames = new HashSet<>();
      Set<String> deploymentNames = new HashSet<>();
      Map<String, Node> fallbackNodes = new LinkedHashMap<>();
      for (NodeTuple tuple : mapping.getValue()) {
        String name = scalar(tuple.getKeyNode());
        String path = "models." + name;
        if (!modelNames.add(name)) {
          // YAML lets a later key replace an earlier one: a model would silently vanish.
          problem(tuple.getKeyNode(), path, "appears twice; each public model name once");
          continue;
        }
        Map<String, Node> f = fields(tuple.getValueNode(), path + ".", MODEL, MODEL_GATEWAY_ONLY);
        if (f == null) {
          continue;
        }
        List<String> fallbacks = List.of();
        if (f.containsKey("fallbacks")) {
          fallbacks = strings(f.get("fallbacks"), path + ".fallbacks");
          fallbackNodes.put(name, f.get("fallbacks"));
        }
        List<Deployment> deployments = new ArrayList<>();
        Node list = f.get("deployments");
        if (!(list instanceof SequenceNode sequence) || sequence.getValue().isEmpty()) {
          problem(
              list == null ? tuple.getKeyNode() : list,
              path + ".deployments",
              "a list of at least one deployment is required");
          continue;
        }
        for (int i = 0; i < sequence.getValue().size(); i++) {
          Node item = sequence.getValue().get(i);
          String itemPath = path + ".deployments[" + i + "]";
          Deployment d = deployment(item, itemPath);
          if (d != null && !deploymentNames.add(d.name())) {
            problem(
                item,
                itemPath + ".name",
                "'" + d.name() + "' is already used; deployment names must be unique");
          } else if (d != null) {
            deployments.add(d);
          }
        }
        if (!deployments.isEmpty()) {
          models.add(new Model(name, deployments, fallbacks));
        }
      }
      fallbackNodes.forEach(
          (model, fallbacksNode) -> {
            for (String fallback : strings(fallbacksNode, "models." + model + ".fallbacks")) {
              if (fallback.equals(model) || !modelNames.contains(fallback)) {
                problem(
                    fallbacksNode,
                    "models." + model + ".fallbacks",
                    "'" + fallback + "' is not another model of this file");
              }
            }
          });
      return models;
    }

    @Nullable Deployment deployment(Node node, String path) {
      String p = path + ".";
      Map<String, Node> f = fields(node, p, DEPLOYMENT, DEPLOYMENT_GATEWAY_ONLY);
      if (f == null) {
        return null;
      }
      String name = required(f, "name", p, node);
      String baseUrlText = required(f, "base_url", p, node);
      String apiKey = required(f, "api_key", p, node);
      // A field that required() found is in f; its node names the line of a problem.
      Node baseUrlNode = f.getOrDefault("base_url", node);
      Node apiKeyNode = f.getOrDefault("api_key", node);
      URI baseUrl = baseUrlText == null ? null : url(baseUrlText, baseUrlNode, p + "base_url");
      if (apiKey != null && apiKey.isBlank()) {
        problem(apiKeyNode, p + "api_key", "is empty (is its environment variable set?)");
        apiKey = null;
      } else if (apiKey != null && apiKey.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
        problem(
            apiKeyNode,
            p + "api_key",
            "contains a control character (a line break from its environment variable?)");
        apiKey = null;
      }
      Deployment.Provider provider = Deployment.Provider.OPENAI;
      if (f.containsKey("provider")) {
        String text = string(f.get("provider"), p + "provider");
        if ("azure".equals(text)) {
          provider = Deployment.Provider.AZURE;
        } else if (!"openai".equals(text)) {
          problem(f.get("provider"), p + "provider", "must be openai or azure");
        }
      }
      TpmCharge charge = TpmCharge.ESTIMATE;
      if (f.containsKey("tpm_charge")) {
        String text = string(f.get("tpm_charge"), p + "tpm_charge");
        if ("usage".equals(text)) {
          charge = TpmCharge.USAGE;
        } else if (!"estimate".equals(text)) {
          problem(f.get("tpm_charge"), p + "tpm_charge", "must be estimate or usage");
        }
      }
      String apiVersion =
          f.containsKey("api_version") ? string(f.get("api_version"), p + "api_version") : "";
      if (provider == Deployment.Provider.AZURE && (apiVersion == null || apiVersion.isBlank())) {
        problem(node, p + "api_version", "is required for provider azure (e.g. 2024-10-21)");
        return null;
      }
      long rpm = required(f, "rpm", p, node) == null ? 1 : number(f, "rpm", p, 1, 1, 1_000_000_000);
      long tpm =
          required(f, "tpm", p, node) == null ? 1 : number(f, "tpm", p, 1, 1, 100_000_000_000L);
      String upstreamModel =
          f.containsKey("upstream_model")
              ? string(f.get("upstream_model"), p + "upstream_model")
              : "";
      double weight = 1;
      if (f.containsKey("weight")) {
        String text = string(f.get("weight"), p + "weight");
        try {
          weight = Double.parseDouble(text == null ? "" : text.trim());
        } catch (NumberFormatException e) {
          weight = -1;
        }
        if (!(weight > 0 && weight < 1e6)) {
          problem(f.get("weight"), p + "weight", "must be a positive number");
          weight = 1;
        }
      }
      int maxConcurrency = (int) number(f, "max_concurrency", p, 0, 0, 1_000_000);
      int priority = (int) number(f, "priority", p, 0, 0, 100);
      long connect = number(f, "connect_timeout_ms", p, 0, 1, 600_000);
      long firstByte = number(f, "first_byte_timeout_ms", p, 0, 1, 3_600_000);
      if (name == null || baseUrl == null || apiKey == null) {
        return null;
      }
      return new Deployment(
          name,
          provider,
          baseUrl,
          apiKey,
          upstreamModel == null ? "" : upstreamModel,
          rpm,
          tpm,
          maxConcurrency,
          priority,
          weight,
          charge,
          apiVersion == null ? "" : apiVersion,
          Duration.ofMillis(connect),
          Duration.ofMillis(firstByte));
    }

    // ---- typed access ----

    /**
     * The fields of a mapping; a field in {@code gatewayOnly} is skipped and remembered for the
     * warning, any other unknown field is a problem.
     */
    @Nullable Map<String, Node> fields(
        Node node, String prefix, Set<String> known, Set<String> gatewayOnly) {
      if (!(node instanceof MappingNode mapping)) {
        problem(
            node,
            prefix.isEmpty() ? "(top level)" : prefix.substring(0, prefix.length() - 1),
            "must be a mapping");
        return null;
      }
      Map<String, Node> fields = new LinkedHashMap<>();
      Set<String> seen = new HashSet<>();
      for (NodeTuple tuple : mapping.getValue()) {
        String key = scalar(tuple.getKeyNode());
        if (!seen.add(key)) {
          problem(tuple.getKeyNode(), prefix + key, "appears twice");
        } else if (gatewayOnly.contains(key)) {
          ignored.add(prefix + key);
        } else if (!known.contains(key)) {
          List<String> all = new ArrayList<>(known);
          all.sort(null);
          problem(
              tuple.getKeyNode(), prefix + key, "unknown field; known: " + String.join(", ", all));
        } else {
          fields.put(key, tuple.getValueNode());
        }
      }
      return fields;
    }

    @Nullable String required(Map<String, Node> f, String field, String prefix, Node parent) {
      Node node = f.get(field);
      if (node == null) {
        problem(parent, prefix + field, "is required");
        return null;
      }
      return string(node, prefix + field);
    }

    @Nullable String string(Node node, String path) {
      if (!(node instanceof ScalarNode)) {
        problem(node, path, "must be a single value");
        return null;
      }
      return substitute(scalar(node), node, path);
    }

    List<String> strings(Node node, String path) {
      List<String> values = new ArrayList<>();
      if (!(node instanceof SequenceNode sequence)) {
        problem(node, path, "must be a list");
        return values;
      }
      for (Node item : sequence.getValue()) {
        String value = string(item, path);
        if (value != null) {
          values.add(value);
        }
      }
      return values;
    }

    long number(
        Map<String, Node> f, String field, String prefix, long fallback, long min, long max) {
      Node node = f.get(field);
      if (node == null) {
        return fallback;
      }
      String text = string(node, prefix + field);
      try {
        long value = Long.parseLong(text == null ? "" : text.replace("_", "").trim());
        if (value >= min && value <= max) {
          return value;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      problem(
          node,
          prefix + field,
          "must be a whole number from " + min + " to " + max + ", got '" + text + "'");
      return fallback;
    }

    boolean bool(Map<String, Node> f, String field, String prefix, boolean fallback) {
      Node node = f.get(field);
      if (node == null) {
        return fallback;
      }
      String text = string(node, prefix + field);
      if ("true".equals(text) || "false".equals(text)) {
        return Boolean.parseBoolean(text);
      }
      problem(node, prefix + field, "must be true or false");
      return fallback;
    }

    @Nullable URI url(String text, Node node, String path) {
      try {
        URI uri = new URI(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) {
          return uri;
        }
      } catch (URISyntaxException e) {
        // reported below
      }
      problem(node, path, "must be an http(s) URL such as https://api.openai.com/v1");
      return null;
    }

    String substitute(String value, Node node, String path) {
      Matcher m = VARIABLE.matcher(value);
      StringBuilder out = new StringBuilder();
      while (m.find()) {
        String replacement = environment.apply(m.group(1));
        if (replacement == null) {
          replacement = m.group(3);
        }
        if (replacement == null) {
          problem(
              node,
              path,
              "environment variable "
                  + m.group(1)
                  + " is not set (and no ${"
                  + m.group(1)
                  + ":-default} is given)");
          replacement = "";
        }
        m.appendReplacement(out, Matcher.quoteReplacement(replacement));
      }
      m.appendTail(out);
      return out.toString();
    }

    void problem(Node node, String path, String message) {
      problems.add(path + " (line " + (node.getStartMark().getLine() + 1) + "): " + message);
    }
  }

  private static String scalar(Node node) {
    return node instanceof ScalarNode s ? s.getValue() : "";
  }
}
