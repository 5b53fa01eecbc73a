/**
 * The HTTP server: Helidon SE routes for the OpenAI endpoints, models, health, and the adapter from
 * Helidon's request and response to the pipeline's {@link
 * dev.penstock.server.pipeline.ClientExchange}. Entry point: {@link
 * dev.penstock.server.http.GatewayServer}.
 */
@NullMarked
package dev.penstock.server.http;

import org.jspecify.annotations.NullMarked;
