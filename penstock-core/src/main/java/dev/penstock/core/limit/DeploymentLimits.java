package dev.penstock.core.limit;

/**
 * The limits an operator configured for one deployment.
 *
 * @param maxConcurrency the most requests in flight at once, or 0 for no limit
 */
public record DeploymentLimits(long rpm, long tpm, int maxConcurrency, TpmCharge tpmCharge) {
  public DeploymentLimits {
    if (rpm < 1 || tpm < 1) {
      throw new IllegalArgumentException("rpm and tpm must be at least 1");
    }
    if (maxConcurrency < 0) {
      throw new IllegalArgumentException("max_concurrency must not be negative");
    }
  }

  public static DeploymentLimits of(long rpm, long tpm) {
    return new DeploymentLimits(rpm, tpm, 0, TpmCharge.ESTIMATE);
  }
}
