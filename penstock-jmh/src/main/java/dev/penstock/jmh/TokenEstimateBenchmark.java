package dev.penstock.jmh;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import dev.penstock.server.openai.Endpoint;
import dev.penstock.server.openai.RequestReader;
import dev.penstock.server.openai.TokenEstimator;
import java.nio.charset.StandardCharsets;
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
 * The CPU a hostile prompt costs before it is admitted: one chat request whose message is a single
 * "word" of {@code chars} letters. {@code estimate} is what the gateway does (read, validate and
 * estimate the request's tokens, long runs counted in pieces and text past a cap bounded from
 * above); {@code wholeWordCount} is what it did before — byte-pair encoding the whole word, whose
 * cost grows faster than its length.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class TokenEstimateBenchmark {
  @Param({"131072", "1048576", "16777216"})
  public int chars;

  private final RequestReader reader = new RequestReader(new TokenEstimator(), 256);
  private final Encoding encoding =
      Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);
  private String word = "";
  private byte[] body = new byte[0];

  @Setup
  public void setUp() {
    word = "a".repeat(chars);
    body =
        ("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + word
                + "\"}]}")
            .getBytes(StandardCharsets.UTF_8);
  }

  @Benchmark
  public long estimate() {
    return reader.read(Endpoint.CHAT, body).promptTokens();
  }

  @Benchmark
  public int wholeWordCount() {
    return encoding.countTokens(word);
  }
}
