package dev.penstock.core.limit;

/** How a provider counts a finished request against its TPM limit (SPEC 3). */
public enum TpmCharge {
  /**
   * OpenAI's way: prompt tokens plus the requested output cap are charged on arrival and not
   * refunded when the answer is shorter. Penstock keeps its estimate charged.
   */
  ESTIMATE,
  /** Providers that count real usage: the unused part of the reservation is returned. */
  USAGE
}
