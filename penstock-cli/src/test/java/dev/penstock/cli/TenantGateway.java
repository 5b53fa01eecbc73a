package dev.penstock.cli;

import static dev.penstock.cli.PenstockProcesses.READY;
import static dev.penstock.cli.PenstockProcesses.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.penstock.cli.PenstockProcesses.Child;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A {@code penstock serve} process with tenants: an admin key and its database in a test's
 * directory, in front of a {@code penstock mock} that answers at once and never limits. For the
 * end-to-end tests of the ledger and the admin commands.
 *
 * @param child the gateway's process
 * @param baseUrl its OpenAI base URL, {@code http://127.0.0.1:PORT/v1}
 * @param config its configuration file, for a restart on the same database
 * @param database {@code storage.path}
 */
record TenantGateway(Child child, String baseUrl, Path config, Path database) {
  static final String ADMIN_KEY = "adm-e2e-0123456789abcdef";
  static final String MODEL = "gpt-4o-mini"; // priced in the shipped table: costs are not 0

  private static final String UPSTREAM_KEY = "sk-tenant-e2e-0001";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A virtual key as created: its id, and the key itself (shown once). */
  record Key(String id, String secret) {}

  /** Starts the mock and the gateway, and waits until the gateway says where it listens. */
  static TenantGateway start(PenstockProcesses processes, Path dir) throws Exception {
    String mock =
        processes.mock(
            "--port",
            "0",
            "--key",
            UPSTREAM_KEY,
            "--rpm",
            "1000000",
            "--tpm",
            "1000000000",
            "--ttft-ms",
            "2",
            "--ms-per-token",
            "0",
            "--output-tokens",
            "8",
            "--jitter",
            "0");
    Path config = dir.resolve("penstock.yaml");
    Path database = dir.resolve("data").resolve("penstock.db");
    Files.writeString(
        config,
        """
        listen: 127.0.0.1:0
        admin_key: %s
        storage: {path: "%s"}
        models:
          %s:
            deployments:
              - {name: a, base_url: "%s", api_key: %s, rpm: 1000000, tpm: 1000000000}
        """
            .formatted(ADMIN_KEY, database, MODEL, mock, UPSTREAM_KEY));
    return restart(processes, config, database);
  }

  /** Starts {@code penstock serve} (again) on {@code config} and its database. */
  static TenantGateway restart(PenstockProcesses processes, Path config, Path database)
      throws Exception {
    Child child = processes.serve("--no-watch", "--config", config.toString());
    return new TenantGateway(
        child, child.awaitBaseUrl("penstock gateway at", READY), config, database);
  }

  /** The gateway's address without {@code /v1}: where {@code /admin} is. */
  String root() {
    return baseUrl.replaceFirst("/v1$", "");
  }

  /** Creates a virtual key through {@code POST /admin/keys}. */
  Key createKey(HttpClient http, String name) throws IOException, InterruptedException {
    HttpResponse<String> created =
        http.send(
            request(root() + "/admin/keys")
                .header("Authorization", "Bearer " + ADMIN_KEY)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\": \"" + name + "\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode json = JSON.readTree(created.body());
    return new Key(json.path("id").asText(), json.path("key").asText());
  }

  /** A small chat completion with {@code key} as bearer. */
  HttpRequest chat(String key) {
    return request(baseUrl + "/chat/completions")
        .header("Authorization", "Bearer " + key)
        .header("Content-Type", "application/json")
        .POST(
            HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"%s\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
                    .formatted(MODEL)))
        .build();
  }

  /** An HTTP/1.1 client (no h2c upgrade attempt on every new connection). */
  static HttpClient http() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }
}
