package dev.penstock.mock;

/** The generating endpoints the simulator serves. */
enum Endpoint {
  CHAT("/v1/chat/completions"),
  COMPLETIONS("/v1/completions"),
  EMBEDDINGS("/v1/embeddings"),
  RESPONSES("/v1/responses");

  private final String path;

  Endpoint(String path) {
    this.path = path;
  }

  String path() {
    return path;
  }
}
