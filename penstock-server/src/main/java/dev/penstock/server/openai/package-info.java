/**
 * OpenAI's wire protocol as the gateway needs it: reading just enough of a request (model, stream,
 * output cap, prompt for the token estimate), error bodies in OpenAI's shape, the upstream's {@code
 * x-ratelimit-*} and retry headers, and usage found in answers and streams.
 */
@NullMarked
package dev.penstock.server.openai;

import org.jspecify.annotations.NullMarked;
