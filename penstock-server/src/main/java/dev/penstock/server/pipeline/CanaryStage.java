package dev.penstock.server.pipeline;

import dev.penstock.server.config.GatewayConfig;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Gray release: a model with {@code canary: {model, percent}} sends that share of its traffic to
 * the other model. The side is chosen by a hash of the caller (its virtual key's id; in open mode
 * the hashed bearer token) and the model, so the same caller always lands on the same side for a
 * given percentage, and raising the percentage only moves callers onto the canary, never back. The
 * deployment that served it is in {@code x-penstock-deployment}, the ledger and the metrics.
 */
final class CanaryStage implements Stage {
  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    String model = call.request().model();
    GatewayConfig.Canary canary = call.routing().canaries().get(model);
    if (canary != null && bucket(call.tenant(), model) < canary.percent() * 100) {
      call.request(call.request().withModel(canary.model()));
      call.record().request(canary.model(), call.request().stream());
    }
    chain.proceed(call);
  }

  /** The caller's place among 10,000 buckets for {@code model}: stable across restarts. */
  static long bucket(String caller, String model) {
    CRC32 crc = new CRC32();
    crc.update((caller + '\u0000' + model).getBytes(StandardCharsets.UTF_8));
    return crc.getValue() % 10_000;
  }
}
