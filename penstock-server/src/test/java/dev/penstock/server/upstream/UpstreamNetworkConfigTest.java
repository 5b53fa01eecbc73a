package dev.penstock.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.penstock.server.config.ConfigException;
import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.config.ConfigReloader;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.config.Secret;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code upstream:} in the config file, and the options and proxy rules made from it. */
class UpstreamNetworkConfigTest {
  @TempDir Path dir;

  private final ConfigLoader loader = new ConfigLoader(Map.of("KEY", "sk-x")::get);

  private static final String MODELS =
      """
      models:
        m:
          deployments:
            - {name: a, base_url: https://api.example.com/v1, api_key: "${KEY}", rpm: 10, tpm: 1000}
      """;

  private GatewayConfig parse(String upstream) {
    return loader.parse(MODELS + upstream, "penstock.yaml", dir);
  }

  private List<String> problems(String upstream) {
    try {
      parse(upstream);
    } catch (ConfigException e) {
      return e.problems();
    }
    throw new AssertionError("the file was accepted");
  }

  @Test
  void withoutTheSectionTheJdksTrustTheEnvironmentsProxyAndHttp2Apply() {
    assertThat(parse("").upstream()).isEqualTo(GatewayConfig.UpstreamNetwork.STANDARD);
    assertThat(GatewayConfig.UpstreamNetwork.STANDARD.http2()).isFalse();
    assertThat(GatewayConfig.UpstreamNetwork.STANDARD.proxy()).isNull();
  }

  @Test
  void theSectionIsReadWithTheCaFileRelativeToTheConfigAndTheProxyASecret() throws Exception {
    Files.copy(TestPki.get().caPem(), dir.resolve("ca.pem"));
    GatewayConfig.UpstreamNetwork upstream =
        parse(
                """
                upstream:
                  ca_file: ca.pem
                  proxy: http://user:hunter2@proxy.corp:3128
                  no_proxy: localhost,.internal
                  http2: off
                """)
            .upstream();
    assertThat(upstream.caFile()).isEqualTo(dir.resolve("ca.pem"));
    Secret proxy = upstream.proxy();
    assertThat(proxy).isNotNull();
    assertThat(proxy.reveal()).isEqualTo("http://user:hunter2@proxy.corp:3128");
    assertThat(upstream.noProxy()).isEqualTo("localhost,.internal");
    assertThat(upstream.http2()).isFalse();
    assertThat(upstream.toString()).doesNotContain("hunter2");

    assertThat(parse("upstream: {http2: auto}\n").upstream().http2()).isTrue();
    assertThat(parse("upstream: {http2: off}\n").upstream().http2()).isFalse();

    assertThat(parse("upstream: {proxy: none}\n").upstream().proxy())
        .isSameAs(GatewayConfig.UpstreamNetwork.NO_PROXY);
  }

  @Test
  void badValuesAreReportedByPathWithoutEchoingThePassword() throws Exception {
    Files.writeString(dir.resolve("not-a-cert.pem"), "hello\n");
    List<String> problems =
        problems(
            """
            upstream:
              ca_file: not-a-cert.pem
              proxy: https://user:hunter2@proxy.corp:3128
              http2: maybe
            """);
    assertThat(problems)
        .anyMatch(p -> p.startsWith("upstream.ca_file (line 6): ") && p.contains("not-a-cert.pem"))
        .anyMatch(p -> p.startsWith("upstream.proxy (line 7): an https:// proxy"))
        .anyMatch(p -> p.startsWith("upstream.http2 (line 8): must be auto"));
    assertThat(String.join("\n", problems)).doesNotContain("hunter2");

    assertThat(problems("upstream: {ca_file: missing.pem}\n"))
        .singleElement()
        .asString()
        .startsWith("upstream.ca_file (line ")
        .contains("): no such file: ");
    assertThat(problems("upstream: {proxy: 'ftp://u:hunter3@x/'}\n"))
        .singleElement()
        .asString()
        .startsWith("upstream.proxy (line ")
        .contains("): must be an http:// URL")
        .doesNotContain("hunter3");
    assertThat(problems("upstream: {proxy: 'http://u:hunter4@proxy/some/path'}\n"))
        .singleElement()
        .asString()
        .doesNotContain("hunter4");
  }

  @Test
  void aReloadThatChangesTheSectionSaysItNeedsARestart() throws Exception {
    Path file = dir.resolve("penstock.yaml");
    Files.writeString(file, MODELS);
    List<GatewayConfig> applied = new ArrayList<>();
    ConfigReloader reloader = new ConfigReloader(file, loader, loader.load(file), applied::add);
    Files.writeString(file, MODELS + "upstream: {proxy: 'http://u:hunter5@proxy:3128'}\n");
    ConfigReloader.Outcome outcome = reloader.reload("test");
    assertThat(outcome)
        .isEqualTo(
            new ConfigReloader.Outcome.Applied(
                List.of("upstream: changed (takes effect after a restart)")));
    assertThat(outcome.toString()).doesNotContain("hunter5");
  }

  @Test
  void theEnvironmentGivesTheProxiesUnlessTheFileSaysOtherwise() throws Exception {
    Map<String, String> env =
        Map.of(
            "https_proxy", "http://a:pw-a@secure-proxy:3128",
            "HTTP_PROXY", "plain-proxy:8080",
            "NO_PROXY", "localhost,.internal, *.corp.example");
    UpstreamOptions fromEnv = UpstreamOptions.of(null, null, null, true, env::get);
    ProxyRules rules = fromEnv.proxies();
    UpstreamProxy secure = rules.select(true, "api.openai.com");
    assertThat(secure).isNotNull();
    assertThat(secure.host()).isEqualTo("secure-proxy");
    assertThat(secure.port()).isEqualTo(3128);
    assertThat(secure.authorization()).isEqualTo("Basic YTpwdy1h");
    UpstreamProxy plain = rules.select(false, "api.openai.com");
    assertThat(plain).isNotNull();
    assertThat(plain.host()).isEqualTo("plain-proxy");
    assertThat(plain.port()).isEqualTo(8080);
    assertThat(plain.authorization()).isNull();
    assertThat(rules.select(true, "localhost")).isNull();
    assertThat(rules.select(true, "llm.internal")).isNull();
    assertThat(rules.select(true, "internal")).isNull();
    assertThat(rules.select(true, "a.b.corp.example")).isNull();
    assertThat(rules.select(true, "notinternal")).as("a suffix matches on a dot").isNotNull();
    assertThat(rules.select(false, "127.0.0.1")).as("loopback: direct").isNull();
    assertThat(rules.select(true, "[::1]")).isNull();
    assertThat(rules.select(true, "localhost")).isNull();
    assertThat(rules.toString() + secure).doesNotContain("pw-a").contains("secure-proxy:3128");

    assertThat(UpstreamOptions.of(null, "none", null, true, env::get).proxies().any()).isFalse();
    ProxyRules configured =
        UpstreamOptions.of(null, "http://proxy.corp:3128", "*", true, env::get).proxies();
    assertThat(configured.select(true, "api.openai.com")).as("no_proxy: *").isNull();
    assertThat(
            UpstreamOptions.of(null, "http://proxy.corp:3128", "", true, env::get)
                .proxies()
                .select(false, "127.0.0.1"))
        .as("a configured proxy is meant for loopback too, unless no_proxy says otherwise")
        .isNotNull();
    ProxyRules configuredWithEnvExceptions =
        UpstreamOptions.of(null, "http://proxy.corp:3128", null, true, env::get).proxies();
    assertThat(configuredWithEnvExceptions.select(false, "x.internal")).isNull();
    assertThat(configuredWithEnvExceptions.select(false, "api.openai.com"))
        .extracting(UpstreamProxy::host)
        .isEqualTo("proxy.corp");
  }

  @Test
  void aBadProxyVariableIsNamedNeverShown() {
    Map<String, String> env = Map.of("HTTPS_PROXY", "https://u:hunter6@proxy:443");
    assertThatThrownBy(() -> UpstreamOptions.of(null, null, null, true, env::get))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HTTPS_PROXY")
        .hasMessageNotContaining("hunter6");
  }

  @Test
  void aCaFileIsAddedToTheJdksTrustNotInPlaceOfIt() throws Exception {
    javax.net.ssl.TrustManagerFactory factory =
        javax.net.ssl.TrustManagerFactory.getInstance(
            javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    factory.init((java.security.KeyStore) null);
    int jdkCas =
        ((javax.net.ssl.X509TrustManager) factory.getTrustManagers()[0])
            .getAcceptedIssuers()
            .length;
    assertThat(jdkCas).as("the JDK ships CAs").isPositive();
    List<java.security.cert.X509Certificate> extra =
        UpstreamOptions.certificates(TestPki.get().caPem());
    assertThat(extra).hasSize(1);
    // the merged store: every JDK CA and the file's
    javax.net.ssl.SSLContext context = UpstreamOptions.contextTrusting(TestPki.get().caPem());
    assertThat(context.getProtocol()).isEqualTo("TLS");
  }
}
