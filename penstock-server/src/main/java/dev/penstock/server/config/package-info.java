/**
 * The gateway's YAML configuration: read in two steps — parse the YAML keeping line numbers, then
 * validate into immutable records — so that every error names the field path and the line. Entry
 * point: {@link dev.penstock.server.config.ConfigLoader}.
 */
@NullMarked
package dev.penstock.server.config;

import org.jspecify.annotations.NullMarked;
