package dev.penstock.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.penstock.server.openai.RequestReader;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A script of {@code src/test/node-sdk} run with the official OpenAI Node SDK: it prints one JSON
 * verdict — {@code checks} (each {@code name}, {@code ok}, {@code detail}), {@code ok}, the node
 * and SDK versions and its own findings — that the calling test judges.
 *
 * <p>Needs node and {@code npm ci} in {@code src/test/node-sdk} ({@code scripts/test-deps.sh}, run
 * by {@code bin/test}, provides both). Without them a test fails saying so, unless {@code
 * PENSTOCK_SKIP_NODE_SDK=1} says to skip it.
 */
public final class NodeSdkScript {
  private static final Path NODE_SDK = Path.of("src/test/node-sdk");

  /** What a script printed and how it ended; its checks all passed. */
  public record Verdict(JsonNode result, String printed, String errors, int exit) {}

  private NodeSdkScript() {}

  /** The node program, or the test is failed (or skipped) saying what is missing. */
  public static Path node() {
    Optional<Path> node = onPath("node");
    boolean ready = node.isPresent() && Files.isDirectory(NODE_SDK.resolve("node_modules/openai"));
    if ("1".equals(System.getenv("PENSTOCK_SKIP_NODE_SDK"))) {
      Assumptions.assumeTrue(ready, "PENSTOCK_SKIP_NODE_SDK=1 and no node or no node_modules here");
    }
    assertThat(ready)
        .as(
            "the Node SDK test needs node on the PATH (%s) and the openai package in"
                + " penstock-server/src/test/node-sdk/node_modules (%s): run scripts/test-deps.sh"
                + " (bin/test does), or set PENSTOCK_SKIP_NODE_SDK=1 to skip this test",
            node.map(Path::toString).orElse("missing"),
            Files.isDirectory(NODE_SDK.resolve("node_modules/openai")) ? "present" : "missing")
        .isTrue();
    return node.orElseThrow();
  }

  /**
   * Runs {@code script} with {@code env} (and none of the SDK's own {@code OPENAI_*} variables),
   * waiting at most {@code wait}; fails the test if it did not finish, printed no JSON, or any of
   * its checks failed. Its output is kept in {@code target/node-sdk-check/<name>-stdout.json} and
   * {@code -stderr.log}.
   */
  public static Verdict run(
      Path node, String script, String name, Map<String, String> env, Duration wait)
      throws Exception {
    Path out = Files.createDirectories(Path.of("target/node-sdk-check"));
    Path stdout = out.resolve(name + "-stdout.json");
    Path stderr = out.resolve(name + "-stderr.log");
    ProcessBuilder builder =
        new ProcessBuilder(node.toString(), script)
            .directory(NODE_SDK.toFile())
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile());
    Map<String, String> environment = builder.environment();
    // The SDK reads OPENAI_* (a key, a base URL, extra headers, log level): none of ours.
    environment.keySet().removeIf(variable -> variable.startsWith("OPENAI_"));
    environment.putAll(env);
    Process process = builder.start();
    boolean finished = process.waitFor(wait.toSeconds(), TimeUnit.SECONDS);
    if (!finished) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    String printed = Files.readString(stdout, StandardCharsets.UTF_8);
    String errors = Files.readString(stderr, StandardCharsets.UTF_8);
    assertThat(finished)
        .as("node %s finished within %s; stdout:%n%s%nstderr:%n%s", script, wait, printed, errors)
        .isTrue();

    JsonNode result;
    try {
      result = RequestReader.JSON.readTree(printed);
    } catch (Exception e) {
      throw new AssertionError(
          "node "
              + script
              + " printed no JSON (exit "
              + process.exitValue()
              + "); stdout:\n"
              + printed
              + "\nstderr:\n"
              + errors,
          e);
    }
    List<String> failed = new ArrayList<>();
    result
        .path("checks")
        .forEach(
            c -> {
              if (!c.path("ok").asBoolean()) {
                failed.add(c.path("name").asText() + ": " + c.path("detail").asText());
              }
            });
    assertThat(failed)
        .as(
            "failed checks (node %s, openai %s); stderr:%n%s",
            result.path("node").asText(), result.path("sdk").asText(), errors)
        .isEmpty();
    return new Verdict(result, printed, errors, process.exitValue());
  }

  private static Optional<Path> onPath(String program) {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("");
    return Stream.of(path.split(File.pathSeparator, -1))
        .filter(dir -> !dir.isEmpty())
        .map(dir -> Path.of(dir, program))
        .filter(Files::isExecutable)
        .findFirst();
  }
}
