package dev.penstock.server.openai;

/**
 * A client request as the gateway needs to know it: the raw body (forwarded as received, except for
 * the model), and what scheduling needs.
 *
 * @param outputTokens the output cap charged: the request's own times {@code n}, else the default
 */
@SuppressWarnings("ArrayRecordComponent") // a carrier, never compared: the body is forwarded as is
public record OpenAiRequest(
    Endpoint endpoint,
    String model,
    boolean stream,
    long promptTokens,
    long outputTokens,
    byte[] body) {}
