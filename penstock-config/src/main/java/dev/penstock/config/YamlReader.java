package dev.penstock.config;

import java.io.StringReader;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.DoublePredicate;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Typed access to a composed YAML document that collects problems instead of throwing: each read of
 * a field that is missing, of the wrong kind or out of range adds one problem naming the field path
 * and the line ({@code retry.attempts (line 4): must be a whole number from 1 to 20, got '50'}) and
 * returns a fallback, so that one pass reports every problem of a file.
 *
 * <p>{@code ${VAR}} and {@code ${VAR:-default}} are replaced from the environment inside scalar
 * values only, after parsing, so a secret's characters can never change the document's structure.
 * No message repeats a value that may be a secret: only numbers and durations echo what was
 * written.
 *
 * <p>One reader serves one pass over one document, on one thread.
 */
public final class YamlReader {
  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?}");
  private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h|d)?");

  private final Function<String, @Nullable String> environment;
  private final List<String> problems = new ArrayList<>();
  private final List<String> skipped = new ArrayList<>();

  /** A reader that replaces {@code ${VAR}} from {@code environment}. */
  public YamlReader(Function<String, @Nullable String> environment) {
    this.environment = environment;
  }

  /**
   * Composes YAML text into nodes that remember their line. A syntax error, or a file with no
   * document, is thrown as {@code failure} applied to its one problem.
   */
  public static Node compose(
      String text, Function<List<String>, ? extends RuntimeException> failure) {
    Node root;
    try {
      root = new Yaml(new LoaderOptions()).compose(new StringReader(text));
    } catch (MarkedYAMLException e) {
      int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
      throw failure.apply(List.of("line " + line + ": " + e.getProblem()));
    } catch (RuntimeException e) {
      throw failure.apply(List.of("not valid YAML: " + e.getMessage()));
    }
    if (root == null) {
      throw failure.apply(List.of("the file is empty; it needs at least 'models'"));
    }
    return root;
  }

  /** The problems found so far, in the order found. */
  public List<String> problems() {
    return Collections.unmodifiableList(problems);
  }

  /** The paths of the fields {@link #fields} skipped as belonging to someone else, in order. */
  public List<String> skipped() {
    return Collections.unmodifiableList(skipped);
  }

  /** Adds a problem at {@code node}'s line: {@code path (line n): message}. */
  public void problem(Node node, String path, String message) {
    problems.add(path + " (line " + (node.getStartMark().getLine() + 1) + "): " + message);
  }

  /** Adds a problem as written, for one that has no line (a whole section missing). */
  public void problem(String text) {
    problems.add(text);
  }

  /** The value of a scalar node as written (no substitution), or "" for any other node. */
  public static String scalar(Node node) {
    return node instanceof ScalarNode s ? s.getValue() : "";
  }

  /**
   * The fields of a mapping by name, in file order, or null (and a problem) if {@code node} is not
   * a mapping. {@code prefix} is the mapping's path with a trailing dot ("" at the top). A field
   * not in {@code known} is a problem; so is one that appears twice.
   */
  public @Nullable Map<String, Node> fields(Node node, String prefix, Set<String> known) {
    return fields(node, prefix, known, Set.of());
  }

  /**
   * As {@link #fields(Node, String, Set)}, but a field in {@code skip} is left out without a
   * problem and its path remembered in {@link #skipped()}.
   */
  public @Nullable Map<String, Node> fields(
      Node node, String prefix, Set<String> known, Set<String> skip) {
    if (!(node instanceof MappingNode mapping)) {
      problem(
          node,
          prefix.isEmpty() ? "(top level)" : prefix.substring(0, prefix.length() - 1),
          "must be a mapping");
      return null;
    }
    Map<String, Node> fields = new LinkedHashMap<>();
    Set<String> seen = new HashSet<>();
    for (NodeTuple tuple : mapping.getValue()) {
      String key = scalar(tuple.getKeyNode());
      if (!seen.add(key)) {
        problem(tuple.getKeyNode(), prefix + key, "appears twice");
      } else if (skip.contains(key)) {
        skipped.add(prefix + key);
      } else if (!known.contains(key)) {
        problem(
            tuple.getKeyNode(),
            prefix + key,
            "unknown field; known: " + String.join(", ", known.stream().sorted().toList()));
      } else {
        fields.put(key, tuple.getValueNode());
      }
    }
    return fields;
  }

  /** A field that must be present: its text, or null (and "is required" at the parent's line). */
  public @Nullable String required(Map<String, Node> f, String field, String prefix, Node parent) {
    Node node = f.get(field);
    if (node == null) {
      problem(parent, prefix + field, "is required");
      return null;
    }
    return string(node, prefix + field);
  }

  /**
   * A whole number that must be present, as {@link #number}; when it is absent or not a single
   * value, {@code fallback} (and the problem {@link #required} reports). Its text is read twice, so
   * a {@code ${VAR}} that is not set is reported twice, as it always has been.
   */
  public long requiredNumber(
      Map<String, Node> f,
      String field,
      String prefix,
      Node parent,
      long fallback,
      long min,
      long max) {
    return required(f, field, prefix, parent) == null
        ? fallback
        : number(f, field, prefix, fallback, min, max);
  }

  /** An optional single value, or {@code fallback} when absent; null if not a single value. */
  public @Nullable String optionalString(
      Map<String, Node> f, String field, String prefix, String fallback) {
    Node node = f.get(field);
    return node == null ? fallback : string(node, prefix + field);
  }

  /** A single value with {@code ${VAR}} replaced, or null if the node is a mapping or a list. */
  public @Nullable String string(Node node, String path) {
    if (!(node instanceof ScalarNode)) {
      problem(node, path, "must be a single value");
      return null;
    }
    return substitute(scalar(node), node, path);
  }

  /** A list of single values; an item that is not one is left out (and reported). */
  public List<String> strings(Node node, String path) {
    List<String> values = new ArrayList<>();
    if (!(node instanceof SequenceNode sequence)) {
      problem(node, path, "must be a list");
      return values;
    }
    for (Node item : sequence.getValue()) {
      String value = string(item, path);
      if (value != null) {
        values.add(value);
      }
    }
    return values;
  }

  /**
   * The items of a non-empty list, or null (and {@code message} at the list's line, or at {@code
   * parent}'s when the list is missing).
   */
  public @Nullable List<Node> nonEmptyList(
      @Nullable Node list, Node parent, String path, String message) {
    if (!(list instanceof SequenceNode sequence) || sequence.getValue().isEmpty()) {
      problem(list == null ? parent : list, path, message);
      return null;
    }
    return sequence.getValue();
  }

  /**
   * A whole number from {@code min} to {@code max} ({@code _} allowed as a digit separator), or
   * {@code fallback} when absent or invalid.
   */
  public long number(
      Map<String, Node> f, String field, String prefix, long fallback, long min, long max) {
    Node node = f.get(field);
    if (node == null) {
      return fallback;
    }
    String text = string(node, prefix + field);
    try {
      long value = Long.parseLong(text == null ? "" : text.replace("_", "").trim());
      if (value >= min && value <= max) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    problem(
        node,
        prefix + field,
        "must be a whole number from " + min + " to " + max + ", got '" + text + "'");
    return fallback;
  }

  /**
   * A number that {@code valid} accepts, or {@code fallback} when absent or not; {@code message}
   * says which numbers are valid (the value is not repeated).
   */
  public double decimal(
      Map<String, Node> f,
      String field,
      String prefix,
      double fallback,
      DoublePredicate valid,
      String message) {
    Node node = f.get(field);
    if (node == null) {
      return fallback;
    }
    String text = string(node, prefix + field);
    try {
      double value = Double.parseDouble(text == null ? "" : text.trim());
      if (valid.test(value)) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    problem(node, prefix + field, message);
    return fallback;
  }

  /** {@code true} or {@code false}, or {@code fallback} when absent or anything else. */
  public boolean bool(Map<String, Node> f, String field, String prefix, boolean fallback) {
    Node node = f.get(field);
    if (node == null) {
      return fallback;
    }
    String text = string(node, prefix + field);
    if ("true".equals(text) || "false".equals(text)) {
      return Boolean.parseBoolean(text);
    }
    problem(node, prefix + field, "must be true or false");
    return fallback;
  }

  /**
   * One of {@code allowed}, or null when absent or anything else ({@code message} says what is
   * allowed; the value is not repeated).
   */
  public @Nullable String oneOf(
      Map<String, Node> f, String field, String prefix, String message, String... allowed) {
    Node node = f.get(field);
    if (node == null) {
      return null;
    }
    String text = string(node, prefix + field);
    if (text != null && List.of(allowed).contains(text)) {
      return text;
    }
    problem(node, prefix + field, message);
    return null;
  }

  /**
   * {@code value}, or {@code lower} (and a problem at {@code mapping}'s line) when it is below the
   * value of the field {@code lowerField} of the same mapping.
   */
  public long atLeast(Node mapping, String path, long value, String lowerField, long lower) {
    if (value < lower) {
      problem(mapping, path, "must be at least " + lowerField);
      return lower;
    }
    return value;
  }

  /** An http(s) URL with a host, without a trailing slash, or null (and a problem). */
  public @Nullable URI url(String text, Node node, String path) {
    try {
      URI uri = new URI(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) {
        return uri;
      }
    } catch (URISyntaxException e) {
      // reported below
    }
    problem(node, path, "must be an http(s) URL such as https://api.openai.com/v1");
    return null;
  }

  /**
   * Whether a secret can go into a request header: not empty, no control characters (a CR or LF
   * would end the header and begin another). A problem otherwise; the value is never repeated.
   */
  public boolean headerValue(String value, Node node, String path) {
    if (value.isBlank()) {
      problem(node, path, "is empty (is its environment variable set?)");
      return false;
    }
    if (value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      problem(
          node, path, "contains a control character (a line break from its environment variable?)");
      return false;
    }
    return true;
  }

  /**
   * A duration: a whole number with a unit ({@code 500ms}, {@code 90s}, {@code 30m}, {@code 1h},
   * {@code 7d}), or a plain number of seconds; from 1 s to 365 d, else {@code fallback}.
   */
  public Duration duration(Node node, String path, Duration fallback) {
    String text = string(node, path);
    Matcher m = DURATION.matcher(text == null ? "" : text.trim());
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "s" : m.group(2);
      Duration d =
          switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
          };
      if (d.compareTo(Duration.ofSeconds(1)) >= 0 && d.compareTo(Duration.ofDays(365)) <= 0) {
        return d;
      }
    }
    problem(
        node,
        path,
        "must be a duration from 1s to 365d such as 90s, 30m, 1h or 7d, got '" + text + "'");
    return fallback;
  }

  /**
   * {@code value} with each {@code ${VAR}} replaced; a variable not set and without default is "".
   */
  String substitute(String value, Node node, String path) {
    Matcher m = VARIABLE.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement = environment.apply(m.group(1));
      if (replacement == null) {
        replacement = m.group(3);
      }
      if (replacement == null) {
        problem(
            node,
            path,
            "environment variable "
                + m.group(1)
                + " is not set (and no ${"
                + m.group(1)
                + ":-default} is given)");
        replacement = "";
      }
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }
}
