package dev.penstock.mock;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The probability of each fault per request. Only the kinds set explicitly are present, so that a
 * key's rates can override the global ones kind by kind ({@code {500: 0}} switches one off).
 */
public record FaultRates(Map<FaultKind, Double> rates) {
  public static final FaultRates NONE = new FaultRates(Map.of());

  public FaultRates {
    EnumMap<FaultKind, Double> copy = new EnumMap<>(FaultKind.class);
    double sum = 0;
    for (Map.Entry<FaultKind, Double> e : rates.entrySet()) {
      double rate = e.getValue();
      if (!(rate >= 0 && rate <= 1)) {
        throw new IllegalArgumentException(
            "fault rate of '" + e.getKey().wireName() + "' must be within 0..1, got " + rate);
      }
      copy.put(e.getKey(), rate);
      sum += rate;
    }
    if (sum > 1 + 1e-9) {
      throw new IllegalArgumentException("fault rates add up to " + sum + ", more than 1");
    }
    rates = Collections.unmodifiableMap(copy);
  }

  /** These rates with {@code overrides} replacing the kinds it sets. */
  public FaultRates overriddenBy(FaultRates overrides) {
    if (overrides.rates.isEmpty()) {
      return this;
    }
    EnumMap<FaultKind, Double> merged = new EnumMap<>(FaultKind.class);
    merged.putAll(rates);
    merged.putAll(overrides.rates);
    return new FaultRates(merged);
  }

  /**
   * The fault for a request that drew {@code uniform} from [0, 1), or null for a normal answer.
   * Kinds occupy consecutive slices of [0, 1) in declaration order.
   */
  public @Nullable FaultKind pick(double uniform) {
    double upper = 0;
    for (Map.Entry<FaultKind, Double> e : rates.entrySet()) {
      upper += e.getValue();
      if (uniform < upper) {
        return e.getKey();
      }
    }
    return null;
  }

  public boolean isEmpty() {
    return rates.values().stream().allMatch(rate -> rate == 0);
  }
}
