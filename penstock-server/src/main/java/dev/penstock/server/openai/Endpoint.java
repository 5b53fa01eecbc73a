package dev.penstock.server.openai;

/** The OpenAI endpoints the gateway proxies, with their upstream path below the base URL. */
public enum Endpoint {
  CHAT("/chat/completions", true),
  COMPLETIONS("/completions", true),
  RESPONSES("/responses", true),
  EMBEDDINGS("/embeddings", false);

  private final String path;
  private final boolean generates;

  Endpoint(String path, boolean generates) {
    this.path = path;
    this.generates = generates;
  }

  /** The path below {@code /v1} (and below an upstream's base URL). */
  public String path() {
    return path;
  }

  /** Whether answers have an output cap (embeddings do not). */
  public boolean generates() {
    return generates;
  }

  /**
   * Whether a stream of this endpoint carries its usage only when the request asks for it ({@code
   * stream_options.include_usage}): chat and legacy completions. A Responses stream always ends
   * with its usage in {@code response.completed}; embeddings do not stream.
   */
  public boolean streamsUsageOnlyWhenAsked() {
    return this == CHAT || this == COMPLETIONS;
  }

  /**
   * Whether a stream of this endpoint ends with {@code data: [DONE]} (Responses streams do not).
   */
  public boolean streamEndsWithDone() {
    return this != RESPONSES;
  }
}
