package dev.penstock.server.tenant;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.nodes.Node;

/**
 * The pricing table (SPEC 8): what each model's tokens cost, so that every request gets a cost in
 * the usage ledger and budgets can be held against a worst case. Immutable and thread-safe.
 *
 * <p>A request is priced by its public model name (what the client asked for) first, then by the
 * deployment's upstream model (what was actually called): an operator can price a public alias such
 * as {@code smart} directly, and an alias left unpriced still costs what its upstream model costs
 * in the shipped defaults. A model found under neither costs 0 (SPEC 9: "a model without a price
 * costs 0"); {@link #priced} tells the caller so, to count such requests in a metric rather than
 * let them pass as free without a trace.
 *
 * <p>Where the table comes from: {@link #defaults()} (OpenAI's list prices, dated, shipped as a
 * resource), {@link #parse(Node, String, List)} (the config file's {@code pricing} section), and
 * {@link #merge} (the configured entries override the defaults per model).
 */
public final class Pricing {
  /** The resource holding the shipped defaults, next to this class; its name carries its date. */
  public static final String DEFAULTS_RESOURCE = "pricing-openai-2026-11.yaml";

  /** No prices at all: every request costs 0. */
  public static final Pricing NONE = new Pricing(Map.of());

  private final Map<String, Price> prices;

  /**
   * @param prices model name → its price; copied
   */
  public Pricing(Map<String, Price> prices) {
    this.prices = Map.copyOf(prices);
  }

  /** Every priced model, by name (unordered). */
  public Map<String, Price> prices() {
    return prices;
  }

  /** The price of the public model, else of the upstream model, else empty. */
  public Optional<Price> price(String publicModel, String upstreamModel) {
    return Optional.ofNullable(lookup(publicModel, upstreamModel));
  }

  /** Whether either name has a price; a request with neither costs 0 and should be counted. */
  public boolean priced(String publicModel, String upstreamModel) {
    return prices.containsKey(publicModel) || prices.containsKey(upstreamModel);
  }

  /**
   * What a request cost, in USD; 0 for a model without a price. {@code cachedTokens} are part of
   * {@code inputTokens} (OpenAI's {@code prompt_tokens_details.cached_tokens}), not in addition to
   * them. Negative counts (usage not reported) count as 0.
   */
  public double cost(
      String publicModel,
      String upstreamModel,
      long inputTokens,
      long cachedTokens,
      long outputTokens) {
    Price price = lookup(publicModel, upstreamModel);
    return price == null ? 0 : price.cost(inputTokens, cachedTokens, outputTokens);
  }

  /**
   * The most a request can cost before its usage is known, in USD, for a budget reservation: its
   * estimated prompt at the full input price (no cache discount assumed) and its whole output cap.
   * 0 for a model without a price.
   *
   * @param promptEstimate the gateway's estimate of the prompt tokens
   * @param outputCap the output tokens the request may generate at most (its cap times {@code n})
   */
  public double worstCase(
      String publicModel, String upstreamModel, long promptEstimate, long outputCap) {
    Price price = lookup(publicModel, upstreamModel);
    return price == null ? 0 : price.cost(promptEstimate, 0, outputCap);
  }

  private @Nullable Price lookup(String publicModel, String upstreamModel) {
    Price price = prices.get(publicModel);
    return price != null ? price : prices.get(upstreamModel);
  }

  /** The defaults with {@code configured} on top: a configured model replaces its default whole. */
  public static Pricing merge(Pricing defaults, Pricing configured) {
    Map<String, Price> merged = new HashMap<>(defaults.prices);
    merged.putAll(configured.prices);
    return new Pricing(merged);
  }

  /**
   * OpenAI's list prices as shipped in {@link #DEFAULTS_RESOURCE} (see its header for the date and
   * source; list prices change, so an operator who bills by them should check and override). Loaded
   * once.
   */
  public static Pricing defaults() {
    return Defaults.TABLE;
  }

  /**
   * Reads a config file's {@code pricing} section — a mapping of model name to {@code
   * {input_per_1m, cached_input_per_1m, output_per_1m}} — for {@code ConfigLoader}, in its style:
   * each problem is added to {@code problems} as {@code "<path>.<model>.<field> (line N):
   * message"}, and whatever was valid is returned, so that one walk reports every problem.
   *
   * <p>{@code input_per_1m} and {@code output_per_1m} are required (write 0 for a model that bills
   * none, e.g. an embedding model's output: a forgotten price would silently be free); {@code
   * cached_input_per_1m} defaults to the input price. Values are plain non-negative numbers; {@code
   * ${VAR}} is not substituted in them.
   *
   * @param node the section's value node, as SnakeYAML composed it
   * @param path the section's field path in problems, e.g. {@code pricing}
   * @param problems receives each problem found
   */
  public static Pricing parse(Node node, String path, List<String> problems) {
    return new Pricing(PricingYaml.read(node, path, problems));
  }

  /**
   * Reads a whole YAML document holding a top-level {@code pricing:} section, shaped as in a config
   * file (the shipped defaults, a test table); {@code source} names it in the message of the {@link
   * IllegalArgumentException} that lists every problem.
   */
  public static Pricing parse(String yaml, String source) {
    return new Pricing(PricingYaml.read(yaml, source));
  }

  /** The shipped defaults, loaded on first use. */
  private static final class Defaults {
    static final Pricing TABLE = load();

    private static Pricing load() {
      try (InputStream in = Pricing.class.getResourceAsStream(DEFAULTS_RESOURCE)) {
        if (in == null) {
          throw new IllegalStateException("resource missing: " + DEFAULTS_RESOURCE);
        }
        return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), DEFAULTS_RESOURCE);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @Override
  public String toString() {
    return "Pricing" + prices.keySet();
  }
}
