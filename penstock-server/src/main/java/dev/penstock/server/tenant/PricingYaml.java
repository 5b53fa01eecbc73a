package dev.penstock.server.tenant;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Reads a pricing table from SnakeYAML's node tree, the way {@code ConfigLoader} reads the rest of
 * the file: every problem is collected (not just the first) as {@code "<field path> (line N):
 * message"}, so that {@code penstock check} names them all at once.
 */
final class PricingYaml {
  private static final String INPUT = "input_per_1m";
  private static final String CACHED = "cached_input_per_1m";
  private static final String OUTPUT = "output_per_1m";
  private static final Set<String> FIELDS = Set.of(INPUT, CACHED, OUTPUT);
  private static final String KNOWN = String.join(", ", FIELDS.stream().sorted().toList());

  /**
   * A plain decimal: digits, an optional fraction and exponent. Narrower than {@link
   * Double#parseDouble}, which also takes {@code Infinity}, {@code NaN}, hex and a {@code d} suffix
   * — none of them a price.
   */
  private static final Pattern NUMBER = Pattern.compile("(\\d+(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?");

  private PricingYaml() {}

  /** The table under {@code node}; problems go to {@code problems}, valid entries are kept. */
  static Map<String, Price> read(Node node, String path, List<String> problems) {
    Map<String, Price> prices = new LinkedHashMap<>();
    if (!(node instanceof MappingNode mapping)) {
      problem(
          problems,
          node,
          path,
          "must be a mapping of model name to {" + INPUT + ", " + CACHED + ", " + OUTPUT + "}");
      return prices;
    }
    Set<String> seen = new HashSet<>();
    for (NodeTuple tuple : mapping.getValue()) {
      Node key = tuple.getKeyNode();
      String model = key instanceof ScalarNode scalar ? scalar.getValue() : "";
      String modelPath = path + "." + model;
      if (model.isBlank()) {
        problem(problems, key, path, "a model name must be a non-empty string");
      } else if (!seen.add(model)) {
        // YAML lets a later key replace an earlier one: one of two prices would silently vanish.
        problem(problems, key, modelPath, "appears twice; price each model once");
      } else {
        Price price = price(tuple.getValueNode(), modelPath, problems);
        if (price != null) {
          prices.put(model, price);
        }
      }
    }
    return prices;
  }

  /**
   * A whole document of the shape {@code pricing: {model: {...}}}, the same as the section of a
   * config file (so the shipped table can be pasted into one); throws {@link
   * IllegalArgumentException} naming {@code source} and every problem.
   */
  static Map<String, Price> read(String yaml, String source) {
    Node root;
    try {
      root = new Yaml(new LoaderOptions()).compose(new StringReader(yaml));
    } catch (YAMLException e) {
      throw new IllegalArgumentException(source + ": not valid YAML: " + e.getMessage(), e);
    }
    List<String> problems = new ArrayList<>();
    Map<String, Price> prices = Map.of();
    Node table = root == null ? null : field(root, "pricing");
    if (table == null) {
      problems.add("pricing: required at the top level");
    } else {
      prices = read(table, "pricing", problems);
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(source + ": " + String.join("; ", problems));
    }
    return prices;
  }

  private static @Nullable Node field(Node node, String name) {
    if (node instanceof MappingNode mapping) {
      for (NodeTuple tuple : mapping.getValue()) {
        if (tuple.getKeyNode() instanceof ScalarNode key && key.getValue().equals(name)) {
          return tuple.getValueNode();
        }
      }
    }
    return null;
  }

  private static @Nullable Price price(Node node, String path, List<String> problems) {
    if (!(node instanceof MappingNode mapping)) {
      problem(
          problems,
          node,
          path,
          "must be a mapping such as {"
              + INPUT
              + ": 1.25, "
              + CACHED
              + ": 0.125, "
              + OUTPUT
              + ": 10}");
      return null;
    }
    int before = problems.size();
    Map<String, Node> fields = new HashMap<>();
    for (NodeTuple tuple : mapping.getValue()) {
      Node key = tuple.getKeyNode();
      String name = key instanceof ScalarNode scalar ? scalar.getValue() : "";
      if (fields.containsKey(name)) {
        problem(problems, key, path + "." + name, "appears twice");
      } else if (!FIELDS.contains(name)) {
        problem(problems, key, path + "." + name, "unknown field; known: " + KNOWN);
      } else {
        fields.put(name, tuple.getValueNode());
      }
    }
    double input = number(fields, INPUT, path, node, problems, "");
    double output =
        number(
            fields,
            OUTPUT,
            path,
            node,
            problems,
            " (0 for a model that bills no output, such as an embedding model)");
    double cached =
        fields.containsKey(CACHED) ? number(fields, CACHED, path, node, problems, "") : input;
    return problems.size() > before ? null : new Price(input, cached, output);
  }

  /** A required price field: a plain non-negative decimal. */
  private static double number(
      Map<String, Node> fields,
      String field,
      String path,
      Node parent,
      List<String> problems,
      String hintWhenMissing) {
    Node node = fields.get(field);
    if (node == null) {
      problem(problems, parent, path + "." + field, "is required" + hintWhenMissing);
      return 0;
    }
    if (!(node instanceof ScalarNode scalar)) {
      problem(problems, node, path + "." + field, "must be a single value");
      return 0;
    }
    String text = scalar.getValue().trim();
    if (NUMBER.matcher(text).matches()) {
      double value = Double.parseDouble(text);
      if (Double.isFinite(value)) {
        return value;
      }
    }
    problem(
        problems,
        node,
        path + "." + field,
        "must be a number >= 0 (USD per 1M tokens), got '" + text + "'");
    return 0;
  }

  private static void problem(List<String> problems, Node node, String path, String message) {
    problems.add(path + " (line " + (node.getStartMark().getLine() + 1) + "): " + message);
  }
}
