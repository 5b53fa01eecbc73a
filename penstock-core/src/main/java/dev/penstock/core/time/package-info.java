/** Time as an injected dependency: a monotonic {@link dev.penstock.core.time.Ticker}. */
@NullMarked
package dev.penstock.core.time;

import org.jspecify.annotations.NullMarked;
