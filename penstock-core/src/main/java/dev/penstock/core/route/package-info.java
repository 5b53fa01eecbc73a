/**
 * The routing choice: which deployment of a model's pool serves the next request. Entry point:
 * {@link dev.penstock.core.route.Pool}.
 */
@NullMarked
package dev.penstock.core.route;

import org.jspecify.annotations.NullMarked;
