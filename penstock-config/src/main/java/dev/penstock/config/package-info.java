/**
 * The YAML reading that the gateway's config loader and the embedded library share: {@link
 * dev.penstock.config.YamlReader} walks SnakeYAML's nodes and collects every problem with its field
 * path and line, and replaces {@code ${VAR}} from the environment; sections that both read the same
 * way (today {@code circuit_breaker:}) are read here into plain values, and each side builds its
 * own records from them. SnakeYAML and JSpecify only: no gateway, no Helidon, no Jackson.
 */
@NullMarked
package dev.penstock.config;

import org.jspecify.annotations.NullMarked;
