package dev.penstock.jmh;

import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import dev.penstock.semantic.MiniLmEmbedder;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Why {@link MiniLmEmbedder} runs its own ONNX session with one intra-op thread: embeddings per
 * second from one and from two request threads, against langchain4j's {@link
 * AllMiniLmL6V2QuantizedEmbeddingModel}, whose static session uses every core for each call.
 *
 * <pre>scripts/jmh.sh EmbedSessionBenchmark -f 1 -wi 3 -i 5</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class EmbedSessionBenchmark {
  private static final String PROMPT = "how can I reverse a python list";

  @Param({"penstock", "langchain4j"})
  public String session;

  private Function<String, float[]> embed;

  @Setup
  public void setUp() {
    if (session.equals("penstock")) {
      MiniLmEmbedder embedder = new MiniLmEmbedder();
      embed = embedder::embed;
    } else {
      AllMiniLmL6V2QuantizedEmbeddingModel model =
          new AllMiniLmL6V2QuantizedEmbeddingModel(Runnable::run);
      embed = text -> model.embed(text).content().vector();
    }
  }

  @Benchmark
  @Threads(1)
  public float[] oneThread() {
    return embed.apply(PROMPT);
  }

  @Benchmark
  @Threads(2)
  public float[] twoThreads() {
    return embed.apply(PROMPT);
  }
}
