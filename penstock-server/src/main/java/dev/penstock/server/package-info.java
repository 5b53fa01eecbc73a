/**
 * The gateway around the scheduling core: OpenAI's wire protocol, the upstream client, the request
 * pipeline, configuration and the HTTP server. Entry point: {@link
 * dev.penstock.server.http.GatewayServer}.
 */
@NullMarked
package dev.penstock.server;

import org.jspecify.annotations.NullMarked;
