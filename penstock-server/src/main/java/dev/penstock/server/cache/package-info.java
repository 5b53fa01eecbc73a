/**
 * The response cache (SPEC 5): answers that cost no quota. An exact cache keyed by tenant
 * namespace, model, endpoint and the normalised request body, in process (Caffeine, bounded by
 * bytes) with an optional shared Redis tier behind it; a semantic cache over the last user message,
 * opt-in per model; and the translation between a streamed and a whole answer, so that either can
 * answer the other.
 */
@NullMarked
package dev.penstock.server.cache;

import org.jspecify.annotations.NullMarked;
