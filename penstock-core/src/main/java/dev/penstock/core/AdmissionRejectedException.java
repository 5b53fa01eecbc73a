package dev.penstock.core;

/** A request that the scheduler will not serve; the server maps it to an OpenAI-shaped error. */
public final class AdmissionRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Admission.Rejected rejected;

  public AdmissionRejectedException(Admission.Rejected rejected) {
    super(rejected.message(), null, false, false);
    this.rejected = rejected;
  }

  public Admission.Rejected rejected() {
    return rejected;
  }
}
