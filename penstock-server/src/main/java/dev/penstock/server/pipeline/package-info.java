/**
 * The request pipeline: one proxied request's way from the client's bytes to the upstream and back,
 * assembled in one place ({@link dev.penstock.server.pipeline.Pipeline}) so that a reader sees it
 * whole. HTTP-server-agnostic: the server adapts its request and response to {@link
 * dev.penstock.server.pipeline.ClientExchange}.
 */
@NullMarked
package dev.penstock.server.pipeline;

import org.jspecify.annotations.NullMarked;
