package dev.penstock.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PromptGuardTest {
  /**
   * One pair a line: the rule that must refuse it (the start of {@link PromptGuard#reason}), or
   * "ok" when the pair must be compatible; then the two prompts.
   */
  private static final String PAIRS =
      """
      numbers   | what is 17*23 | what is 17*24
      numbers   | what is 17+23 | what is 17*23
      numbers   | what is 3.14 squared | what is 3.15 squared
      numbers   | give me three tips for sleep | give me four tips for sleep
      numbers   | what is the first element | what is the second element
      numbers   | how many days until 2026-12-25 | how many days until 2026-12-24
      numbers   | explain gpt4 | explain gpt5
      numbers   | what is -5 squared | what is 5 squared
      numbers   | split $100 between 3 people | split €100 between 3 people
      numbers   | double 21 | triple 21
      quoted    | translate "good morning" to German | translate "good night" to German
      quoted    | what does 'ls -la' do | what does 'ls -lh' do
      quoted    | explain `git reset --hard` | explain `git reset --soft`
      quoted    | spell “colour” | spell “color”
      quoted    | what does ```x[::-1]``` do | what does ```x[1:]``` do
      negations | is it safe to drink tap water | is it not safe to drink tap water
      negations | should I use tabs | shouldn't I use tabs
      negations | coffee with sugar | coffee without sugar
      negations | does it ever rain in Lima | does it never rain in Lima
      negations | can I eat eggs raw | cant I eat eggs raw
      units     | convert 5 km to miles | convert 5 miles to km
      units     | how many grams in a pound | how many pounds in a gram
      units     | 30 C in F | 30 F in C
      units     | how many seconds in a day | how many minutes in a day
      opposites | is it safe to take ibuprofen with alcohol | is it unsafe to take ibuprofen with alcohol
      opposites | turn on dark mode | turn off dark mode
      opposites | how do I enable dark mode | how do I turn off dark mode
      opposites | how to increase font size | how to decrease font size
      opposites | use more memory | use less memory
      opposites | what happened before the war | what happened after the war
      opposites | allow cookies in chrome | block cookies in chrome
      opposites | is this true | is this false
      opposites | set the max value | set the min value
      opposites | best pizza in town | worst pizza in town
      opposites | add a user to a group | remove a user from a group
      opposites | open the file | close the file
      opposites | start the server | stop the server
      opposites | price above average | price below average
      opposites | scroll up | scroll down
      opposites | log in to the site | log out of the site
      opposites | sort ascending | sort descending
      opposites | is this a valid email | is this an invalid email
      opposites | is coffee harmful | is coffee harmless
      opposites | encrypt a file with openssl | decrypt a file with openssl
      opposites | reverse a list in python | reverse a list in java
      opposites | weather in Paris today | weather in Paris tomorrow
      opposites | make the button red | make the button blue
      opposites | sum each row of a matrix | sum each column of a matrix
      opposites | git push | git pull
      opposites | is this answer right | is this answer wrong
      opposites | turn left at the light | turn right at the light
      order     | is python faster than java | is java faster than python
      order     | translate from english to french | translate from french to english
      names     | What is the capital of France? | What is the capital of Germany?
      names     | flights from Paris to London | flights from London to Paris
      names     | what does os.path.join do | what does os.path.split do
      names     | explain useEffect | explain useState
      names     | is A bigger than B | is B bigger than A
      names     | who wrote Hamlet | who wrote Macbeth
      ok        | how do I reverse a list in python | how can I reverse a python list
      ok        | What's the capital of France? | France's capital city?
      ok        | I don't like cats | I do not like cats
      ok        | give me three tips for sleep | give me 3 tips for sleep
      ok        | what is 3.50 + 1,000 | what is 3.5 + 1000
      ok        | What are the benefits of meditation? | What are the advantages of meditation?
      ok        | how do I disable dark mode | how to turn off dark mode
      ok        | HOW DO I CENTER A DIV | how do i center a div
      ok        | Explain recursion simply | explain recursion in simple terms
      ok        | what's the best way to learn Rust | how should I learn Rust
      ok        | convert 5 km to miles | convert 5 kilometres to miles
      ok        | is it safe to drink tap water | is tap water safe to drink
      ok        | can't connect to wifi | cannot connect to wifi
      """;

  static Stream<Arguments> pairs() {
    return PAIRS
        .strip()
        .lines()
        .map(line -> Arrays.stream(line.split("\\|", 3)).map(String::strip).toArray(String[]::new))
        .map(f -> Arguments.of(f[0], f[1], f[2]));
  }

  @ParameterizedTest(name = "{0}: {1} / {2}")
  @MethodSource("pairs")
  void refusesByTheRuleNamedOrAccepts(String rule, String cached, String asked) {
    String why = PromptGuard.reason(cached, asked).orElse("ok");
    assertThat(why).startsWith(rule);
    assertThat(PromptGuard.compatible(cached, asked)).isEqualTo(rule.equals("ok"));
    // Symmetric: which of the two was cached does not matter.
    assertThat(PromptGuard.compatible(asked, cached)).isEqualTo(rule.equals("ok"));
  }

  @Test
  void aPromptIsCompatibleWithItself() {
    pairs()
        .flatMap(a -> Stream.of((String) a.get()[1], (String) a.get()[2]))
        .forEach(p -> assertThat(PromptGuard.reason(p, p)).as(p).isEmpty());
  }

  @Test
  void numbersAreCanonical() {
    assertThat(PromptFeatures.canonical("1,000")).isEqualTo("1000");
    assertThat(PromptFeatures.canonical("3.50")).isEqualTo("3.5");
    assertThat(PromptFeatures.canonical("2.0")).isEqualTo("2");
    assertThat(PromptFeatures.canonical("007")).isEqualTo("7");
    assertThat(PromptFeatures.canonical("0")).isEqualTo("0");
    assertThat(PromptFeatures.canonical("1.2.3")).isEqualTo("1.2.3");
    assertThat(PromptFeatures.canonical("3,5")).isEqualTo("3,5");
  }

  @Test
  void readsAPromptsFeatures() {
    PromptFeatures f =
        PromptFeatures.of("Don't convert 5 km to 'miles' in Python's os.path module, Bob");
    assertThat(f.negations()).isEqualTo(1);
    assertThat(f.numbers()).containsExactly("5");
    assertThat(f.units()).containsExactly("km");
    assertThat(f.quotes()).containsExactly("miles");
    assertThat(f.names()).containsExactlyInAnyOrder("python", "os.path", "bob");
    assertThat(f.words()).startsWith("do", "convert", "to", "in", "python");
  }

  @Test
  void aSentenceStartingWordIsANameUnlessCommon() {
    assertThat(PromptFeatures.of("What is it. Paris is nice").names()).containsExactly("paris");
    assertThat(PromptFeatures.of("I think so").names()).isEmpty();
  }
}
