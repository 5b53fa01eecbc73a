package dev.penstock.server.pipeline;

import dev.penstock.server.config.GatewayConfig;
import java.util.HashMap;
import java.util.Map;

/**
 * Which models' embedding requests are merged, from the configuration in force: the batch window of
 * each model ({@code models.<name>.embeddings_batch_window_ms}, else {@code
 * embeddings.batch_window_ms}) and the most inputs one merged request carries. Part of the {@link
 * Pipeline.Routing} table, so a reload takes new values for the requests that arrive after it.
 *
 * @param windowNanos per public model, its window; a model not named has none (0 = off)
 * @param maxBatchInputs the most inputs in one merged request
 */
public record EmbeddingBatching(Map<String, Long> windowNanos, int maxBatchInputs) {
  /** No batching. */
  public static final EmbeddingBatching OFF =
      new EmbeddingBatching(Map.of(), GatewayConfig.Embeddings.MAX_INPUTS);

  public EmbeddingBatching {
    windowNanos = Map.copyOf(windowNanos);
  }

  /** The batching a configuration asks for; models with a window of 0 are left out. */
  public static EmbeddingBatching of(GatewayConfig config) {
    Map<String, Long> windows = new HashMap<>();
    for (GatewayConfig.ModelConfig model : config.models().values()) {
      long millis =
          model.embeddingsBatchWindowMillis() >= 0
              ? model.embeddingsBatchWindowMillis()
              : config.embeddings().batchWindowMillis();
      if (millis > 0) {
        windows.put(model.name(), millis * 1_000_000);
      }
    }
    return new EmbeddingBatching(windows, config.embeddings().maxBatchInputs());
  }

  /** The window of {@code model}'s embedding requests, in nanoseconds; 0 when they go alone. */
  public long windowNanos(String model) {
    return windowNanos.getOrDefault(model, 0L);
  }
}
