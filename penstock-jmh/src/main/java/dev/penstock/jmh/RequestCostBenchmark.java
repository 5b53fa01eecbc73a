package dev.penstock.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.TokenEstimator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What one chat request costs the gateway before admission, by the size of its prompt: {@code read}
 * is the whole of it (parse, validate, estimate the tokens), {@code parse} the JSON alone and
 * {@code tokenize} the byte-pair encoding of the prompt alone — the tokenizer's share is {@code
 * tokenize / read}. The prompt is English-like prose from a seeded generator (words of 1-10
 * letters, punctuation, numbers), so that the encoder meets ordinary text, not one long run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RequestCostBenchmark {
  private static final String[] WORDS = {
    "the",
    "model",
    "answers",
    "a",
    "question",
    "about",
    "rate",
    "limits",
    "and",
    "tokens",
    "per",
    "minute",
    "while",
    "gateway",
    "queues",
    "requests",
    "by",
    "priority",
    "with",
    "deadlines",
    "upstream",
    "provider",
    "returns",
    "streams",
    "of",
    "events",
    "cost",
    "tenant",
    "budget",
    "cache",
    "hit",
    "miss",
    "retry",
    "failover",
    "circuit",
    "breaker",
    "open",
    "closed",
    "latency"
  };

  @Param({"1024", "10240", "102400", "1048576"})
  public int promptBytes;

  private final RequestReader reader = new RequestReader(new TokenEstimator(), 256);
  private final Encoding encoding =
      Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);
  private String prompt = "";
  private byte[] body = new byte[0];

  @Setup
  public void setUp() {
    SplittableRandom random = new SplittableRandom(17);
    StringBuilder text = new StringBuilder(promptBytes + 16);
    while (text.length() < promptBytes) {
      int kind = random.nextInt(20);
      if (kind == 0) {
        text.append(random.nextInt(100_000));
      } else {
        text.append(WORDS[random.nextInt(WORDS.length)]);
      }
      text.append(kind == 1 ? ". " : kind == 2 ? ", " : " ");
    }
    prompt = text.substring(0, promptBytes);
    body =
        ("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are"
                + " helpful.\"},{\"role\":\"user\",\"content\":\""
                + prompt
                + "\"}],\"max_tokens\":256}")
            .getBytes(StandardCharsets.UTF_8);
  }

  @Benchmark
  public long read() {
    return reader.read(Endpoint.CHAT, body).promptTokens();
  }

  @Benchmark
  public JsonNode parse() throws IOException {
    return RequestReader.JSON.readTree(body);
  }

  @Benchmark
  public int tokenize() {
    return encoding.countTokens(prompt);
  }
}
