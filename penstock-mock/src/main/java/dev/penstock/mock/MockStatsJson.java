package dev.penstock.mock;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The JSON of {@code GET /__stats} and {@code GET /__config}. Field names are a stable interface
 * for scripts: see {@link KeyStats} for their meaning. Key values never appear, only key names.
 */
final class MockStatsJson {
  private MockStatsJson() {}

  static ObjectNode stats(List<KeyStats> keys) {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    ArrayNode array = root.putArray("keys");
    long requests = 0;
    long succeeded = 0;
    long rateLimited = 0;
    long faults = 0;
    long peak1s = 0;
    boolean overLimit = false;
    for (KeyStats k : keys) {
      ObjectNode key = array.addObject();
      key.put("name", k.name());
      key.put("rpm", k.rpm());
      key.put("tpm", k.tpm());
      key.put("dead", k.dead());
      key.put("requests", k.requests());
      key.put("accepted", k.accepted());
      key.put("succeeded", k.succeeded());
      key.put("rate_limited", k.rateLimited());
      key.put("rate_limited_requests", k.rateLimitedRequests());
      key.put("rate_limited_tokens", k.rateLimitedTokens());
      key.put("too_large", k.tooLarge());
      key.put("peak_requests_60s", k.peakRequests60s());
      key.put("peak_tokens_60s", k.peakTokens60s());
      key.put("peak_requests_1s", k.peakRequests1s());
      boolean over = k.peakRequests60s() > k.rpm() || k.peakTokens60s() > k.tpm();
      key.put("over_limit", over);
      key.put("prompt_tokens", k.promptTokens());
      key.put("completion_tokens", k.completionTokens());
      ObjectNode faultNode = key.putObject("faults");
      k.faults().forEach(faultNode::put);
      requests += k.requests();
      succeeded += k.succeeded();
      rateLimited += k.rateLimited();
      faults += k.faults().values().stream().mapToLong(Long::longValue).sum();
      peak1s = Math.max(peak1s, k.peakRequests1s());
      overLimit |= over;
    }
    ObjectNode totals = root.putObject("totals");
    totals.put("requests", requests);
    totals.put("succeeded", succeeded);
    totals.put("rate_limited", rateLimited);
    totals.put("faults", faults);
    totals.put("max_peak_requests_1s", peak1s);
    totals.put("any_over_limit", overLimit);
    return root;
  }

  static ObjectNode config(List<KeySpec> keys, FaultRates faults, StreamJsonStyle style) {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put("stream_json_style", style.wireName());
    root.set("faults", faultsJson(faults));
    ArrayNode array = root.putArray("keys");
    for (KeySpec spec : keys) {
      ObjectNode key = array.addObject();
      key.put("name", spec.name());
      key.put("rpm", spec.rpm());
      key.put("tpm", spec.tpm());
      key.put("port", spec.port());
      key.put("dead", spec.dead());
      key.set("faults", faultsJson(spec.faults()));
    }
    return root;
  }

  private static ObjectNode faultsJson(FaultRates rates) {
    ObjectNode node = JsonNodeFactory.instance.objectNode();
    rates.rates().forEach((kind, rate) -> node.put(kind.wireName(), rate));
    return node;
  }
}
