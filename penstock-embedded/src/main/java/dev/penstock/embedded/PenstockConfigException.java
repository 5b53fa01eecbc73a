package dev.penstock.embedded;

import java.util.List;

/**
 * A configuration Penstock cannot run with. Its message lists every problem found, each naming the
 * field path and the line: {@code models.gpt-5.deployments[1].rpm (line 14): must be a whole number
 * from 1 to 1000000000, got 'many'}. Never contains a secret's value.
 */
public final class PenstockConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public PenstockConfigException(String source, List<String> problems) {
    super(source + ": " + String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  /** Each problem, as {@code path (line n): what is wrong}. */
  public List<String> problems() {
    return problems;
  }
}
