/**
 * The official OpenAI Java SDK ({@code com.openai:openai-java}, an optional dependency) on top of
 * {@link dev.penstock.embedded.Penstock}: {@link dev.penstock.embedded.openai.PenstockOpenAI}
 * builds SDK clients whose HTTP transport paces every call over the pool.
 */
@NullMarked
package dev.penstock.embedded.openai;

import org.jspecify.annotations.NullMarked;
