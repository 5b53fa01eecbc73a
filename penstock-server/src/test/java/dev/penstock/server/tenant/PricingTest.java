package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

class PricingTest {
  private static final Price GPT_5 = new Price(1.25, 0.125, 10.0);
  private static final Pricing TABLE =
      new Pricing(Map.of("gpt-5", GPT_5, "smart", Price.of(3, 15), "embed", Price.of(0.02, 0)));

  @Test
  void cachedTokensArePartOfTheInputAndPaidAtTheCachedPrice() {
    // 1M prompt tokens of which 400K cached, 100K output:
    // 600K × 1.25 + 400K × 0.125 + 100K × 10 = 0.75 + 0.05 + 1.00 USD
    assertThat(TABLE.cost("gpt-5", "gpt-5", 1_000_000, 400_000, 100_000))
        .isCloseTo(1.80, within(1e-12));
    assertThat(TABLE.cost("gpt-5", "gpt-5", 1_000, 0, 0)).isCloseTo(0.00125, within(1e-15));
    assertThat(TABLE.cost("embed", "embed", 1_000_000, 0, 0)).isCloseTo(0.02, within(1e-15));
  }

  @Test
  void aPriceWithoutACachedPriceChargesCachedTokensAsInput() {
    Price price = Price.of(2, 8);
    assertThat(price.cachedInputPer1m()).isEqualTo(2);
    assertThat(price.cost(1_000_000, 1_000_000, 0)).isCloseTo(2.0, within(1e-12));
  }

  @Test
  void unreportedUsageCostsNothingAndCachedNeverExceedsInput() {
    assertThat(GPT_5.cost(-1, 0, -1)).isZero();
    assertThat(GPT_5.cost(1_000_000, 5_000_000, 0))
        .as("cached clamped to the input it is part of")
        .isCloseTo(0.125, within(1e-12));
    assertThat(GPT_5.cost(1_000_000, -3, 0)).isCloseTo(1.25, within(1e-12));
  }

  @Test
  void anUnknownModelCostsZeroAndIsNotPriced() {
    assertThat(TABLE.cost("nobody", "nothing", 1_000_000, 0, 1_000_000)).isZero();
    assertThat(TABLE.worstCase("nobody", "nothing", 1_000_000, 1_000_000)).isZero();
    assertThat(TABLE.priced("nobody", "nothing")).isFalse();
    assertThat(TABLE.price("nobody", "nothing")).isEmpty();
    assertThat(Pricing.NONE.priced("gpt-5", "gpt-5")).isFalse();
  }

  @Test
  void thePublicModelIsPricedFirstThenTheUpstreamModel() {
    // "smart" is priced itself: its upstream's price does not matter.
    assertThat(TABLE.cost("smart", "gpt-5", 1_000_000, 0, 0)).isCloseTo(3.0, within(1e-12));
    // An alias without a price costs what its upstream model costs.
    assertThat(TABLE.priced("my-alias", "gpt-5")).isTrue();
    assertThat(TABLE.price("my-alias", "gpt-5")).contains(GPT_5);
    assertThat(TABLE.cost("my-alias", "gpt-5", 1_000_000, 0, 0)).isCloseTo(1.25, within(1e-12));
  }

  @Test
  void theWorstCaseIsTheWholePromptAtTheInputPriceAndTheWholeCap() {
    // 2,000 prompt × 1.25 + 4,096 cap × 10, per 1M
    assertThat(TABLE.worstCase("gpt-5", "gpt-5", 2_000, 4_096))
        .isCloseTo((2_000 * 1.25 + 4_096 * 10.0) / 1e6, within(1e-15));
  }

  @Test
  void configuredPricesOverrideTheDefaultsPerModel() {
    Pricing configured =
        Pricing.parse(
            """
            pricing:
              gpt-5: {input_per_1m: 1.0, output_per_1m: 8.0}
              in-house: {input_per_1m: 0, output_per_1m: 0}
            """,
            "test");
    Pricing merged = Pricing.merge(Pricing.defaults(), configured);

    assertThat(merged.price("gpt-5", "gpt-5"))
        .as("replaced whole: its cached price is now its own input price")
        .contains(new Price(1.0, 1.0, 8.0));
    assertThat(merged.priced("in-house", "in-house")).isTrue();
    assertThat(merged.price("gpt-4o", "gpt-4o")).isEqualTo(Pricing.defaults().price("gpt-4o", ""));
    assertThat(Pricing.defaults().price("gpt-5", "")).contains(GPT_5);
  }

  @Test
  void theShippedDefaultsLoadAndPriceTheCurrentOpenAiModels() {
    Pricing defaults = Pricing.defaults();

    assertThat(defaults.price("gpt-5", "")).contains(GPT_5);
    assertThat(defaults.prices())
        .containsKeys(
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
            "gpt-5.1",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "gpt-4o",
            "gpt-4o-mini",
            "o3",
            "o4-mini",
            "text-embedding-3-small",
            "text-embedding-3-large");
    assertThat(defaults.prices().values())
        .allSatisfy(
            p -> {
              assertThat(p.inputPer1m()).isPositive();
              assertThat(p.cachedInputPer1m()).isLessThanOrEqualTo(p.inputPer1m());
            });
    assertThat(defaults).isSameAs(Pricing.defaults());
  }

  @Test
  void problemsNameTheFieldPathAndLineLikeTheRestOfTheConfig() {
    List<String> problems = new ArrayList<>();
    Pricing pricing =
        Pricing.parse(
            section(
                """
                listen: 127.0.0.1:8080
                pricing:
                  gpt-5: {input_per_1M: 1.25, output_per_1m: 10}
                  gpt-4o:
                    input_per_1m: 2.5
                    output_per_1m: -10
                  o3: {input_per_1m: .inf, output_per_1m: 8, cached_input_per_1m: [1]}
                  nano: {input_per_1m: 0.05}
                  gpt-4o: {input_per_1m: 1, output_per_1m: 1}
                  fine: {input_per_1m: 1e-1, cached_input_per_1m: "0.05", output_per_1m: 4.}
                  listed: [1, 2]
                """),
            "pricing",
            problems);

    assertThat(problems)
        .containsExactly(
            "pricing.gpt-5.input_per_1M (line 3): unknown field; known: cached_input_per_1m,"
                + " input_per_1m, output_per_1m",
            "pricing.gpt-5.input_per_1m (line 3): is required",
            "pricing.gpt-4o.output_per_1m (line 6): must be a number >= 0 (USD per 1M tokens),"
                + " got '-10'",
            "pricing.o3.input_per_1m (line 7): must be a number >= 0 (USD per 1M tokens),"
                + " got '.inf'",
            "pricing.o3.cached_input_per_1m (line 7): must be a single value",
            "pricing.nano.output_per_1m (line 8): is required (0 for a model that bills no output,"
                + " such as an embedding model)",
            "pricing.gpt-4o (line 9): appears twice; price each model once",
            "pricing.listed (line 11): must be a mapping such as {input_per_1m: 1.25,"
                + " cached_input_per_1m: 0.125, output_per_1m: 10}");
    assertThat(pricing.prices()).containsOnlyKeys("fine");
    assertThat(pricing.price("fine", "")).contains(new Price(0.1, 0.05, 4.0));
  }

  @Test
  void aSectionThatIsNoMappingIsOneProblem() {
    List<String> problems = new ArrayList<>();
    Pricing.parse(section("pricing: [gpt-5]\n"), "pricing", problems);
    assertThat(problems)
        .containsExactly(
            "pricing (line 1): must be a mapping of model name to {input_per_1m,"
                + " cached_input_per_1m, output_per_1m}");
  }

  @Test
  void aWholeDocumentWithProblemsIsRefusedNamingItsSource() {
    assertThatThrownBy(
            () ->
                Pricing.parse("pricing:\n  gpt-5: {input_per_1m: x, output_per_1m: 1}\n", "t.yaml"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "t.yaml: pricing.gpt-5.input_per_1m (line 2): must be a number >= 0 (USD per 1M"
                + " tokens), got 'x'");
    assertThatThrownBy(() -> Pricing.parse("models: {}\n", "t.yaml"))
        .hasMessage("t.yaml: pricing: required at the top level");
    assertThatThrownBy(() -> new Price(-1, 0, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  /** The {@code pricing} node of a config file, as {@code ConfigLoader}'s walk would hand it on. */
  private static Node section(String yaml) {
    Node root = new Yaml(new LoaderOptions()).compose(new StringReader(yaml));
    for (NodeTuple tuple : ((MappingNode) root).getValue()) {
      if (((ScalarNode) tuple.getKeyNode()).getValue().equals("pricing")) {
        return tuple.getValueNode();
      }
    }
    throw new AssertionError("no pricing section");
  }
}
