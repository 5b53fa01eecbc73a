/**
 * Penstock's pacing as a library: {@link dev.penstock.embedded.Penstock} runs penstock-core's
 * scheduler in the application's own JVM and sends each call to the deployment it reserved, over
 * the JDK's HTTP client — no gateway process. {@link dev.penstock.embedded.openai} plugs it into
 * the official OpenAI Java SDK. See docs/library.md.
 */
@NullMarked
package dev.penstock.embedded;

import org.jspecify.annotations.NullMarked;
