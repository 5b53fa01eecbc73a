package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class BenchCommandTest {
  private final StringWriter err = new StringWriter();

  private BenchOptions parse(String... args) {
    BenchCommand command = new BenchCommand(ProgressStyle.LINES);
    new CommandLine(command).parseArgs(args);
    return command.options();
  }

  private int execute(String... args) {
    return dev.penstock.cli.Main.commandLine()
        .setOut(new PrintWriter(new StringWriter()))
        .setErr(new PrintWriter(err))
        .execute(args);
  }

  @Test
  void defaultsAreAClosedLoopOfEightChatRequestsForThirtySeconds() {
    BenchOptions options = parse("--key=sk-test");

    assertThat(options.endpointUri()).hasToString("http://127.0.0.1:8080/v1/chat/completions");
    assertThat(options.load()).isEqualTo(new LoadMode.ClosedLoop(8));
    assertThat(options.duration()).isEqualTo(Duration.ofSeconds(30));
    assertThat(options.model()).isEqualTo("gpt-4o-mini");
    assertThat(options.promptTokens()).isEqualTo(64);
    assertThat(options.maxTokens()).isEqualTo(64);
    assertThat(options.timeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(options.maxInFlight()).isEqualTo(10_000);
    assertThat(options.requestCap()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void mapsEveryOption() {
    BenchOptions options =
        parse(
            "--url=http://gw:9000/v1/",
            "--key=sk-x",
            "--model=gpt-5",
            "--endpoint=responses",
            "--stream",
            "--rate=1500/min",
            "--duration=2m",
            "--requests=100",
            "--prompt-tokens=500",
            "--max-tokens=32",
            "--header=x-penstock-priority: high",
            "--header",
            "x-trace: a:b",
            "--timeout=5s",
            "--limit-rpm=1200",
            "--limit-tpm=40000",
            "--max-inflight=50");

    assertThat(options.endpointUri()).hasToString("http://gw:9000/v1/responses");
    assertThat(options.apiKey()).isEqualTo("sk-x");
    assertThat(options.load()).isEqualTo(new LoadMode.OpenLoop(Rate.perMinute(1500)));
    assertThat(options.stream()).isTrue();
    assertThat(options.duration()).isEqualTo(Duration.ofMinutes(2));
    assertThat(options.requestCap()).isEqualTo(100);
    assertThat(options.headers())
        .containsExactly(new Header("x-penstock-priority", "high"), new Header("x-trace", "a:b"));
    assertThat(List.of(options.limitRpm(), options.limitTpm())).containsExactly(1200L, 40000L);
    assertThat(options.maxInFlight()).isEqualTo(50);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "--rate=fast                             | invalid rate 'fast'",
        "--rate=10/s --concurrency=4             | --rate and --concurrency are exclusive",
        "--duration=forever                      | invalid duration 'forever'",
        "--endpoint=images                       | unknown endpoint 'images'",
        "--endpoint=embeddings --stream          | --stream is not supported for embeddings",
        "--concurrency=0                         | concurrency must be at least 1",
        "--header=nocolon                        | expected 'name: value'",
        "--header=Host: evil                     | the HTTP client manages it",
        "--url=ftp://host/v1                     | --url must be an http:// or https:// URL",
        "--prompt-tokens=0                       | --prompt-tokens must be at least 1",
        "--html=/no/such/directory/report.html   | does not exist"
      })
  void badOptionsExitWithTwoAndSayWhy(String args, String message) {
    String[] argv = ("bench --key=k " + args.trim()).split(" (?=--)");

    assertThat(execute(argv)).isEqualTo(2);
    assertThat(err.toString())
        .contains(message)
        .doesNotContain("Exception")
        .doesNotContain("\tat ");
  }
}
