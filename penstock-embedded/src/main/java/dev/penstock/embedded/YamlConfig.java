package dev.penstock.embedded;

import static dev.penstock.config.SectionFields.DEFAULTS;
import static dev.penstock.config.SectionFields.DEPLOYMENT;
import static dev.penstock.config.SectionFields.MODEL;
import static dev.penstock.config.SectionFields.TOP;

import dev.penstock.config.BreakerSection;
import dev.penstock.config.ModelFields;
import dev.penstock.config.RetrySection;
import dev.penstock.config.YamlReader;
import dev.penstock.core.health.BreakerPolicy;
import dev.penstock.core.limit.TpmCharge;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;

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
 * a walk checks every field and collects every problem with its field path and line. The reading of
 * fields and its messages are the gateway's own, shared through penstock-config ({@link
 * YamlReader}); which fields are the gateway's alone is listed there too ({@link
 * dev.penstock.config.SectionFields}).
 */
record YamlConfig(List<Model> models, Settings settings) {
  private static final Logger LOG = LoggerFactory.getLogger(YamlConfig.class);

  static YamlConfig load(Path file, Function<String, @Nullable String> environment)
      throws IOException {
    return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString(), environment);
  }

  static YamlConfig parse(
      String text, String source, Function<String, @Nullable String> environment) {
    Node root = YamlReader.compose(text, problems -> new PenstockConfigException(source, problems));
    Walk walk = new Walk(new YamlReader(environment));
    YamlConfig config = walk.top(root);
    if (!walk.r.problems().isEmpty() || config == null) {
      throw new PenstockConfigException(source, walk.r.problems());
    }
    if (!walk.r.skipped().isEmpty()) {
      LOG.warn(
          "{}: ignored, as they configure the gateway and not a library: {}",
          source,
          String.join(", ", walk.r.skipped()));
    }
    return config;
  }

  /** One pass over the node tree, collecting problems and the gateway-only fields it skipped. */
  private static final class Walk {
    final YamlReader r;

    Walk(YamlReader r) {
      this.r = r;
    }

    @Nullable YamlConfig top(Node root) {
      Map<String, Node> f = r.fields(root, "", TOP.shared(), TOP.gatewayOnly());
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
        r.problem("models: required; name at least one public model with its deployments");
        return null;
      }
      List<Model> models = models(modelsNode);
      return r.problems().isEmpty() ? new YamlConfig(models, settings) : null;
    }

    Settings defaults(Node node, Settings d) {
      Map<String, Node> f = r.fields(node, "defaults.", DEFAULTS.shared(), DEFAULTS.gatewayOnly());
      if (f == null) {
        return d;
      }
      String p = "defaults.";
      return new Settings(
          Duration.ofMillis(r.number(f, "timeout_ms", p, d.timeout().toMillis(), 1, 86_400_000)),
          (int) r.number(f, "max_output_tokens", p, d.maxOutputTokens(), 1, 10_000_000),
          (int) r.number(f, "max_queue", p, d.maxQueued(), 0, 10_000_000),
          Duration.ofMillis(
              r.number(f, "pacing_guard_ms", p, d.pacingGuard().toMillis(), 0, 60_000)),
          Duration.ofMillis(
              r.number(f, "connect_timeout_ms", p, d.connectTimeout().toMillis(), 1, 600_000)),
          Duration.ofMillis(
              r.number(
                  f, "first_byte_timeout_ms", p, d.firstByteTimeout().toMillis(), 1, 3_600_000)),
          d.retry(),
          d.retryTimeouts(),
          d.breaker());
    }

    Settings retry(Node node, Settings settings) {
      RetrySection retry = RetrySection.read(r, node);
      return settings.withRetry(retry.policy(), retry.onTimeout());
    }

    BreakerPolicy breaker(Node node) {
      return BreakerSection.policy(r, node);
    }

    List<Model> models(Node node) {
      List<Model> models = new ArrayList<>();
      if (!(node instanceof MappingNode mapping) || mapping.getValue().isEmpty()) {
        r.problem(node, "models", "must be a mapping of public model name to its deployments");
        return models;
      }
      Set<String> modelNames = new HashSet<>();
      Set<String> deploymentNames = new HashSet<>();
      Map<String, Node> fallbackNodes = new LinkedHashMap<>();
      for (NodeTuple tuple : mapping.getValue()) {
        String name = YamlReader.scalar(tuple.getKeyNode());
        String path = "models." + name;
        if (!modelNames.add(name)) {
          // YAML lets a later key replace an earlier one: a model would silently vanish.
          r.problem(tuple.getKeyNode(), path, "appears twice; each public model name once");
          continue;
        }
        Map<String, Node> f =
            r.fields(tuple.getValueNode(), path + ".", MODEL.shared(), MODEL.gatewayOnly());
        if (f == null) {
          continue;
        }
        List<String> fallbacks = List.of();
        if (f.containsKey("fallbacks")) {
          fallbacks = r.strings(f.get("fallbacks"), path + ".fallbacks");
          fallbackNodes.put(name, f.get("fallbacks"));
        }
        List<Deployment> deployments = new ArrayList<>();
        List<Node> items = ModelFields.deployments(r, f, tuple.getKeyNode(), path);
        if (items == null) {
          continue;
        }
        for (int i = 0; i < items.size(); i++) {
          Node item = items.get(i);
          String itemPath = path + ".deployments[" + i + "]";
          Deployment d = deployment(item, itemPath);
          if (d != null && !deploymentNames.add(d.name())) {
            r.problem(
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
            for (String fallback : r.strings(fallbacksNode, "models." + model + ".fallbacks")) {
              if (fallback.equals(model) || !modelNames.contains(fallback)) {
                r.problem(
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
      Map<String, Node> f = r.fields(node, p, DEPLOYMENT.shared(), DEPLOYMENT.gatewayOnly());
      if (f == null) {
        return null;
      }
      String name = r.required(f, "name", p, node);
      String baseUrlText = r.required(f, "base_url", p, node);
      String apiKey = r.required(f, "api_key", p, node);
      // A field that required() found is in f; its node names the line of a problem.
      Node baseUrlNode = f.getOrDefault("base_url", node);
      Node apiKeyNode = f.getOrDefault("api_key", node);
      URI baseUrl = baseUrlText == null ? null : r.url(baseUrlText, baseUrlNode, p + "base_url");
      if (apiKey != null && !r.headerValue(apiKey, apiKeyNode, p + "api_key")) {
        apiKey = null;
      }
      Deployment.Provider provider =
          ModelFields.azure(r, f, p) ? Deployment.Provider.AZURE : Deployment.Provider.OPENAI;
      TpmCharge charge = ModelFields.chargesUsage(r, f, p) ? TpmCharge.USAGE : TpmCharge.ESTIMATE;
      String apiVersion = r.optionalString(f, "api_version", p, "");
      if (provider == Deployment.Provider.AZURE && (apiVersion == null || apiVersion.isBlank())) {
        r.problem(node, p + "api_version", "is required for provider azure (e.g. 2024-10-21)");
        return null;
      }
      long rpm = r.requiredNumber(f, "rpm", p, node, 1, 1, 1_000_000_000);
      long tpm = r.requiredNumber(f, "tpm", p, node, 1, 1, 100_000_000_000L);
      String upstreamModel = r.optionalString(f, "upstream_model", p, "");
      double weight =
          r.decimal(f, "weight", p, 1, w -> w > 0 && w < 1e6, "must be a positive number");
      int maxConcurrency = (int) r.number(f, "max_concurrency", p, 0, 0, 1_000_000);
      int priority = (int) r.number(f, "priority", p, 0, 0, 100);
      long connect = r.number(f, "connect_timeout_ms", p, 0, 1, 600_000);
      long firstByte = r.number(f, "first_byte_timeout_ms", p, 0, 1, 3_600_000);
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
  }
}
