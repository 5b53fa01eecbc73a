/**
 * The provider simulator behind {@code penstock mock}: an OpenAI-compatible API, also served on
 * Azure OpenAI's URL shapes, whose keys have their own RPM and TPM limits, a latency model and
 * injected faults.
 *
 * <p>It is the independent referee of the gateway, so its limiter ({@link
 * dev.penstock.mock.SlidingWindowLimiter}) is a deliberately simple sliding-window log that shares
 * no code with {@code penstock-core}. Entry point: {@link dev.penstock.mock.MockServer}.
 */
@NullMarked
package dev.penstock.mock;

import org.jspecify.annotations.NullMarked;
