package dev.penstock.core.cache;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The lexical check that a semantic cache hit must also pass: may the answer to {@code cached} be
 * given to {@code asked}, whose embedding is close?
 *
 * <h2>Why</h2>
 *
 * <p>A sentence embedding measures topic more than truth: "is it safe to take ibuprofen with
 * alcohol" and "is it unsafe to…" score close to 1, as do "17*23" and "17*24", "turn on dark mode"
 * and "turn off dark mode", "capital of France" and "capital of Germany". Each such pair needs a
 * different answer. The guard refuses them by what they literally say, so the similarity threshold
 * can be set for paraphrases and the guard does the safety work. It errs on the side of a miss: a
 * refused paraphrase costs one upstream call, a wrong hit gives a wrong answer.
 *
 * <h2>Rules</h2>
 *
 * <p>Two prompts are compatible unless one of these differs (English word lists, lower case; see
 * {@link Lexicon}):
 *
 * <ol>
 *   <li><b>Numbers</b>, in order: every digit run (decimals, thousands separators and leading zeros
 *       canonicalised), spelled-out numbers (one..twenty, thirty..ninety, hundred.., first..
 *       twelfth, half, twice...), math operators and currency signs ({@code 17*23} is 17 * 23).
 *   <li><b>Quoted text</b>, as a multiset, verbatim: "…", '…', `…`, ```…```, “…”, «…».
 *   <li><b>Negations</b>, counted: not, no, never, none, nothing, without, cannot and every {@code
 *       n't} ({@code don't} equals {@code do not}).
 *   <li><b>Units</b>, in order: "5 km to miles" is not "5 miles to km".
 *   <li><b>Opposites</b>: among the words one prompt has and the other lacks, one from each side
 *       with different values of one group — on/off, enable/disable, more/less, before/after,
 *       python/java, Monday/Friday, red/blue (about 50 groups) — or a word and its negated form
 *       (safe/unsafe, valid/invalid, code/decode, harmful/harmless). A word the other prompt only
 *       drops ("in" in "a list in python" against "a python list") is no conflict.
 *   <li><b>Order within a group</b>: "python to java" is not "java to python".
 *   <li><b>Names</b>, in order: the words either prompt writes like a name (capitalised, except a
 *       common word starting a sentence; ALL CAPS; camelCase; snake_case; dotted.names; calls())
 *       are picked from both prompts, case-insensitively, and must appear in the same order.
 * </ol>
 *
 * <p>Pure and thread-safe; a few microseconds for a prompt of a sentence or two, linear in length.
 */
public final class PromptGuard {
  private PromptGuard() {}

  /** True when the answer to {@code cached} may serve {@code asked}: no rule above refuses it. */
  public static boolean compatible(String cached, String asked) {
    return difference(PromptFeatures.of(cached), PromptFeatures.of(asked)) == null;
  }

  /** Why the two prompts are not compatible (the first rule that refuses), or empty if they are. */
  public static Optional<String> reason(String cached, String asked) {
    return Optional.ofNullable(difference(PromptFeatures.of(cached), PromptFeatures.of(asked)));
  }

  /** The first difference between two read prompts, or null when they are compatible. */
  static @Nullable String difference(PromptFeatures a, PromptFeatures b) {
    if (!a.numbers().equals(b.numbers())) {
      return "numbers differ: " + a.numbers() + " vs " + b.numbers();
    }
    if (!a.quotes().equals(b.quotes())) {
      return "quoted text differs: " + a.quotes() + " vs " + b.quotes();
    }
    if (a.negations() != b.negations()) {
      return "negations differ: " + a.negations() + " vs " + b.negations();
    }
    if (!a.units().equals(b.units())) {
      return "units differ: " + a.units() + " vs " + b.units();
    }
    String opposite = opposites(a.words(), b.words());
    if (opposite != null) {
      return opposite;
    }
    String order = groupOrder(a.words(), b.words());
    if (order != null) {
      return order;
    }
    return names(a, b);
  }

  private static @Nullable String opposites(List<String> a, List<String> b) {
    List<String> onlyA = minus(a, b);
    List<String> onlyB = minus(b, a);
    for (String x : onlyA) {
      for (String y : onlyB) {
        for (int sx : Lexicon.senses(x)) {
          for (int sy : Lexicon.senses(y)) {
            if (Lexicon.group(sx) == Lexicon.group(sy) && sx != sy) {
              return "opposites (" + Lexicon.groupName(sx) + "): " + x + " vs " + y;
            }
          }
        }
        if (Lexicon.prefixOpposites(x, y)) {
          return "opposites: " + x + " vs " + y;
        }
      }
    }
    return null;
  }

  /** The words of {@code a} that {@code b} has fewer of (multiset difference), in order. */
  private static List<String> minus(List<String> a, List<String> b) {
    Map<String, Integer> left = new HashMap<>();
    for (String w : b) {
      left.merge(w, 1, Integer::sum);
    }
    List<String> only = new ArrayList<>();
    for (String w : a) {
      Integer n = left.get(w);
      if (n == null || n == 0) {
        only.add(w);
      } else {
        left.put(w, n - 1);
      }
    }
    return only;
  }

  /** Where both prompts use two or more values of one group, the values' first order must match. */
  private static @Nullable String groupOrder(List<String> a, List<String> b) {
    Map<Integer, List<Integer>> orderA = senseOrder(a);
    Map<Integer, List<Integer>> orderB = senseOrder(b);
    for (Map.Entry<Integer, List<Integer>> e : orderA.entrySet()) {
      List<Integer> other = orderB.get(e.getKey());
      if (other == null) {
        continue;
      }
      List<Integer> firstA = new ArrayList<>(e.getValue());
      List<Integer> firstB = new ArrayList<>(other);
      firstA.retainAll(other);
      firstB.retainAll(e.getValue());
      if (firstA.size() >= 2 && !firstA.equals(firstB)) {
        return "order differs (" + Lexicon.groupName(e.getKey() * 64) + ")";
      }
    }
    return null;
  }

  /** For each lexicon group used, its values (senses) in order of first appearance. */
  private static Map<Integer, List<Integer>> senseOrder(List<String> words) {
    Map<Integer, Set<Integer>> order = new HashMap<>();
    for (String w : words) {
      for (int s : Lexicon.senses(w)) {
        order.computeIfAbsent(Lexicon.group(s), g -> new LinkedHashSet<>()).add(s);
      }
    }
    Map<Integer, List<Integer>> lists = new HashMap<>();
    order.forEach((g, values) -> lists.put(g, List.copyOf(values)));
    return lists;
  }

  private static @Nullable String names(PromptFeatures a, PromptFeatures b) {
    if (a.names().isEmpty() && b.names().isEmpty()) {
      return null;
    }
    List<String> namesA = pick(a.words(), a.names(), b.names());
    List<String> namesB = pick(b.words(), a.names(), b.names());
    return namesA.equals(namesB) ? null : "names differ: " + namesA + " vs " + namesB;
  }

  private static List<String> pick(List<String> words, Set<String> names1, Set<String> names2) {
    List<String> picked = new ArrayList<>();
    for (String w : words) {
      if (names1.contains(w) || names2.contains(w)) {
        picked.add(w);
      }
    }
    return picked;
  }
}
