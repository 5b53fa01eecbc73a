package dev.penstock.server.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.GatewayConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The three-instance deployment on paper (deploy/compose, deploy/kubernetes; deploy/README.md
 * "Three instances"): no Docker engine or Kubernetes cluster runs here, so this checks what can be
 * checked without one — every YAML file parses; the penstock.yaml of each is a valid Penstock
 * config (as {@code penstock check} would say) with {@code cluster:} and {@code
 * storage.postgres_url}; the health checks use {@code /health/live} and {@code /health/ready}; the
 * time allowed to stop exceeds Penstock's drain; the Deployment's replicas are the config's {@code
 * cluster.instances}.
 */
class ClusterDeployAssetsTest {
  private static final Path ROOT = repoRoot();
  private static final Path COMPOSE = ROOT.resolve("deploy/compose");
  private static final Path KUBERNETES = ROOT.resolve("deploy/kubernetes");

  /** The environment the configs' ${VAR}s need, as a Secret or env file would give it. */
  private static final Map<String, String> ENVIRONMENT =
      Map.of(
          "PENSTOCK_ADMIN_KEY", "test-admin-key",
          "PENSTOCK_REDIS_URL", "redis://redis:6379/0",
          "PENSTOCK_POSTGRES_URL", "postgresql://penstock:pw@postgres:5432/penstock",
          "OPENAI_KEY_A", "sk-test-a-000001",
          "OPENAI_KEY_B", "sk-test-b-000001");

  @TempDir Path dir;

  @Test
  void everyYamlFileParses() throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path base : List.of(COMPOSE, KUBERNETES)) {
      try (Stream<Path> walk = Files.walk(base)) {
        walk.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
            .forEach(files::add);
      }
    }
    assertThat(files).hasSizeGreaterThanOrEqualTo(8);
    for (Path file : files) {
      assertThat(documents(file)).as("documents in %s", file).isNotEmpty();
    }
  }

  @Test
  void theComposeFileRunsThreeDrainingHealthCheckedInstancesBehindALoadBalancer()
      throws IOException {
    Map<String, Object> compose = map(documents(COMPOSE.resolve("docker-compose.yml")).getFirst());
    Map<String, Object> services = map(compose.get("services"));
    assertThat(services)
        .containsKeys("penstock-1", "penstock-2", "penstock-3", "lb", "redis", "postgres");
    GatewayConfig config = check(Files.readString(COMPOSE.resolve("penstock.yaml")), "compose");
    for (String name : List.of("penstock-1", "penstock-2", "penstock-3")) {
      Map<String, Object> service = map(services.get(name)); // the anchor merged in
      String health = String.valueOf(map(service.get("healthcheck")).get("test"));
      assertThat(health).as(name).contains("/health/live", "/health/ready");
      assertThat(seconds(String.valueOf(service.get("stop_grace_period"))))
          .as("%s's stop_grace_period against the drain", name)
          .isGreaterThan(config.defaults().shutdownGraceMillis() / 1000);
      assertThat(String.valueOf(service.get("env_file"))).contains("penstock.env");
    }
    String nginx = Files.readString(COMPOSE.resolve("nginx.conf"), StandardCharsets.UTF_8);
    assertThat(nginx).contains("penstock-1:8080", "penstock-2:8080", "penstock-3:8080");
    assertThat(config.cluster()).isNotNull();
    assertThat(config.cluster().instances()).isEqualTo(3);
  }

  @Test
  void theKubernetesManifestsRunThreeReplicasOfTheConfigMapsCluster() throws IOException {
    Map<String, Object> configMap = map(documents(KUBERNETES.resolve("configmap.yaml")).getFirst());
    String penstockYaml = String.valueOf(map(configMap.get("data")).get("penstock.yaml"));
    GatewayConfig config = check(penstockYaml, "configmap");

    Map<String, Object> deployment =
        map(documents(KUBERNETES.resolve("deployment.yaml")).getFirst());
    assertThat(deployment.get("kind")).isEqualTo("Deployment");
    Map<String, Object> spec = map(deployment.get("spec"));
    assertThat(spec.get("replicas")).isEqualTo(config.cluster().instances());
    Map<String, Object> pod = map(map(spec.get("template")).get("spec"));
    Map<String, Object> container = map(list(pod.get("containers")).getFirst());
    assertThat(path(container, "readinessProbe", "httpGet", "path")).isEqualTo("/health/ready");
    assertThat(path(container, "livenessProbe", "httpGet", "path")).isEqualTo("/health/live");
    Object preStopSleep = path(container, "lifecycle", "preStop", "sleep", "seconds");
    assertThat(preStopSleep).isInstanceOf(Integer.class);
    assertThat((int) pod.get("terminationGracePeriodSeconds"))
        .as("terminationGracePeriodSeconds against the preStop sleep and the drain")
        .isGreaterThan((int) preStopSleep + (int) (config.defaults().shutdownGraceMillis() / 1000));
    assertThat(String.valueOf(container.get("envFrom"))).contains("penstock-secrets");

    Map<String, Object> secret = map(documents(KUBERNETES.resolve("secret.yaml")).getFirst());
    assertThat(secret.get("kind")).isEqualTo("Secret");
    assertThat(map(secret.get("stringData")))
        .containsKeys(ENVIRONMENT.keySet().toArray(String[]::new));
    assertThat(map(documents(KUBERNETES.resolve("service.yaml")).getFirst()).get("kind"))
        .isEqualTo("Service");
    Map<String, Object> pdb = map(documents(KUBERNETES.resolve("pdb.yaml")).getFirst());
    assertThat(pdb.get("kind")).isEqualTo("PodDisruptionBudget");
    assertThat(path(pdb, "spec", "maxUnavailable")).isEqualTo(1);
  }

  /** As {@code penstock check}: the config is valid with the Secret's variables set. */
  private GatewayConfig check(String yaml, String source) {
    GatewayConfig config = new ConfigLoader(ENVIRONMENT::get).parse(yaml, source, dir);
    assertThat(config.cluster()).as("%s: cluster:", source).isNotNull();
    assertThat(config.tenancy().postgresUrl()).as("%s: storage.postgres_url", source).isNotNull();
    return config;
  }

  private static List<Object> documents(Path file) throws IOException {
    Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    List<Object> docs = new ArrayList<>();
    for (Object doc : yaml.loadAll(Files.readString(file, StandardCharsets.UTF_8))) {
      if (doc != null) {
        docs.add(doc);
      }
    }
    return docs;
  }

  private static @Nullable Object path(Map<String, Object> root, String... keys) {
    Object at = root;
    for (String key : keys) {
      at = map(at).get(key);
    }
    return at;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(@Nullable Object node) {
    assertThat(node).isInstanceOf(Map.class);
    return (Map<String, Object>) node;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(@Nullable Object node) {
    assertThat(node).isInstanceOf(List.class);
    return (List<Object>) node;
  }

  private static long seconds(String duration) {
    assertThat(duration).matches("\\d+s");
    return Long.parseLong(duration.substring(0, duration.length() - 1));
  }

  private static Path repoRoot() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("mvnw")) && Files.isDirectory(d.resolve("deploy"))) {
        return d;
      }
    }
    throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
  }
}
