package dev.penstock.mock;

/**
 * One simulated API key: its display name (used in stats and logs), its secret value, its limits,
 * its fault overrides, and optionally a listener port of its own so that it can be made unreachable
 * ({@code dead}: connection refused).
 *
 * @param port a dedicated port for this key, or 0 for none (it is served on the main port only)
 */
public record KeySpec(
    String name, String secret, long rpm, long tpm, FaultRates faults, int port, boolean dead) {

  public KeySpec {
    if (name.isBlank()) {
      throw new IllegalArgumentException("a key needs a name");
    }
    if (secret.isBlank()) {
      throw new IllegalArgumentException("key '" + name + "' needs a value");
    }
    if (rpm < 1 || tpm < 1) {
      throw new IllegalArgumentException("key '" + name + "': rpm and tpm must be at least 1");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("key '" + name + "': port out of range: " + port);
    }
  }

  public static KeySpec of(String name, String secret, long rpm, long tpm) {
    return new KeySpec(name, secret, rpm, tpm, FaultRates.NONE, 0, false);
  }

  public KeySpec withLimits(long newRpm, long newTpm) {
    return new KeySpec(name, secret, newRpm, newTpm, faults, port, dead);
  }

  public KeySpec withFaults(FaultRates newFaults) {
    return new KeySpec(name, secret, rpm, tpm, newFaults, port, dead);
  }

  public KeySpec withDead(boolean newDead) {
    return new KeySpec(name, secret, rpm, tpm, faults, port, newDead);
  }

  public KeySpec withPort(int newPort) {
    return new KeySpec(name, secret, rpm, tpm, faults, newPort, dead);
  }

  @Override
  public String toString() {
    // The secret never reaches a log line through toString().
    return "KeySpec[" + name + ", rpm=" + rpm + ", tpm=" + tpm + ", port=" + port + "]";
  }
}
