package dev.penstock.mock;

/** The generating operations the simulator serves; {@link Route} lists the URLs of each. */
enum Endpoint {
  CHAT,
  COMPLETIONS,
  EMBEDDINGS,
  RESPONSES
}
