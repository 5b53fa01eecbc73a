package dev.penstock.server.openai;

/**
 * A client request as the gateway needs to know it: the raw body (forwarded as received, except for
 * the model and, on a stream, {@code stream_options.include_usage}), and what scheduling needs.
 *
 * @param clientWantsUsage whether the client gets the answer's usage as it asked: false only for a
 *     streamed chat or legacy completion without {@code stream_options.include_usage: true} — the
 *     gateway asks the upstream for the usage chunk anyway (to count and price the request) and
 *     withholds that chunk from the client, which did not ask for it
 * @param outputTokens the output cap charged: the request's own times {@code n}, else the default
 * @param body the client's body, byte for byte; the edits for an upstream are made per deployment
 *     ({@link UpstreamBody})
 * @param deterministic whether the request says its answer is reproducible ({@link
 *     #saysDeterministic}): what the response cache reads before it parses the body again
 */
@SuppressWarnings("ArrayRecordComponent") // a carrier, never compared: the body is forwarded as is
public record OpenAiRequest(
    Endpoint endpoint,
    String model,
    boolean stream,
    boolean clientWantsUsage,
    long promptTokens,
    long outputTokens,
    byte[] body,
    boolean deterministic) {

  /**
   * Whether a request body says its answer is reproducible (SPEC 5): {@code temperature: 0}, or a
   * {@code seed}.
   */
  public static boolean saysDeterministic(com.fasterxml.jackson.databind.JsonNode root) {
    com.fasterxml.jackson.databind.JsonNode temperature = root.get("temperature");
    if (temperature != null && temperature.isNumber() && temperature.doubleValue() == 0) {
      return true;
    }
    com.fasterxml.jackson.databind.JsonNode seed = root.get("seed");
    return seed != null && seed.isIntegralNumber();
  }

  /**
   * The same request for another public model (a gray release's canary); the body keeps the model
   * the client named, as each deployment puts its own upstream model into it when it is sent.
   */
  public OpenAiRequest withModel(String publicModel) {
    return new OpenAiRequest(
        endpoint,
        publicModel,
        stream,
        clientWantsUsage,
        promptTokens,
        outputTokens,
        body,
        deterministic);
  }
}
