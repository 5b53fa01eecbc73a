/**
 * The semantic response cache's pieces that need no library: {@link
 * dev.penstock.core.cache.Embedder} (the port a local embedding model implements, found with {@link
 * java.util.ServiceLoader}), {@link dev.penstock.core.cache.SemanticIndex} (unit vectors per
 * request "space", searched by cosine similarity) and {@link dev.penstock.core.cache.PromptGuard}
 * (the cheap lexical check that refuses a near neighbour whose numbers, quotes, negations,
 * opposites or names differ). See docs/semantic-cache.md.
 */
@NullMarked
package dev.penstock.core.cache;

import org.jspecify.annotations.NullMarked;
