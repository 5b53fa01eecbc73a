package dev.penstock.core.cache;

/**
 * A sentence-embedding model: maps a text to a unit-length vector whose cosine similarity with
 * another text's vector says how close their meanings are.
 *
 * <p>Contract: {@link #embed} is thread-safe, blocks the calling (virtual) thread for the model's
 * run — a few milliseconds on a CPU — and always returns a new array of {@link #dimensions} floats
 * with Euclidean length 1, so that a dot product is the cosine. Implementations are found with
 * {@code ServiceLoader.load(Embedder.class)}; the gateway loads one only when a model enables
 * semantic caching, and closes it once at shutdown, after the last {@code embed} has returned.
 */
public interface Embedder extends AutoCloseable {
  /**
   * The unit-length embedding of {@code text}.
   *
   * @throws IllegalArgumentException if {@code text} is blank: it means nothing to compare
   */
  float[] embed(String text);

  /** The length of every vector {@link #embed} returns. */
  int dimensions();

  /** The model's name, for logs and metrics (e.g. {@code all-minilm-l6-v2-q}). */
  String name();

  /** Frees the model; {@link #embed} fails afterwards. */
  @Override
  void close();
}
